// SPDX-License-Identifier: Apache-2.0
// Placeholder so the target builds; its module file replaces this.
