// SPDX-License-Identifier: Apache-2.0

/// Raw-socket SMTP client for the hostile-client tests, run with python3 (written to a temporary file).
let dialogueScript = #"""
# Raw-socket SMTP dialogue for SMTPServerTests: reads a JSON script, prints the replies as JSON.
# Steps: {"send": text} (code points 0-255 are sent as bytes), {"sendInBackground": text},
# {"read": n} (n replies), {"readUntilClose": true}, {"starttls": true}, {"close": true}.
import json, socket, ssl, sys, threading

script = json.load(open(sys.argv[1]))
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
if script.get("source"):
    sock.bind((script["source"], 0))
sock.settimeout(script.get("timeout", 20))
sock.connect(("127.0.0.1", script["port"]))
buffer = b""
replies = []

def read_reply():
    global buffer
    lines = []
    while True:
        while b"\r\n" not in buffer:
            data = sock.recv(65536)
            if not data:
                raise EOFError
            buffer += data
        line, buffer = buffer.split(b"\r\n", 1)
        lines.append(line.decode("utf-8", "replace"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines

def send_quietly(data):
    try:
        sock.sendall(data)
    except OSError:
        pass

closed = False
for step in script["steps"]:
    try:
        if "send" in step:
            sock.sendall(step["send"].encode("latin-1"))
        elif "sendInBackground" in step:
            threading.Thread(target=send_quietly, args=(step["sendInBackground"].encode("latin-1"),), daemon=True).start()
        elif "read" in step:
            for _ in range(step["read"]):
                replies.append(read_reply())
        elif "readUntilClose" in step:
            while True:
                replies.append(read_reply())
        elif "starttls" in step:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname="localhost")
            buffer = b""
        elif "close" in step:
            sock.close()
            closed = True
            break
    except (EOFError, ConnectionResetError, BrokenPipeError):
        replies.append(["EOF"])
        break
print("REPLIES " + json.dumps(replies))
"""#
