#!/usr/bin/env python3
"""Reads `gst-launch-1.0 -m` output of a pipeline ending in lvjwtsink on stdin, checks the
HS256 signature of the token with the key in $DEMO_KEY, and prints the verdict, the decoded
header and payload (the best shot shortened) and the error codes with their names (from the
token table of docs/elements.md)."""
import base64
import hashlib
import hmac
import json
import os
import re
import sys


def b64json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def main():
    readme = open(os.environ["README"], encoding="utf-8").read()
    names = dict(re.findall(r"^\| (\d+) \| `([a-z0-9-]+)` \|", readme, re.M))
    text = sys.stdin.read().replace("\\", "")
    verdict = re.search(r"liveness-verdict, passed=\(boolean\)(\w+).*?sequence=\(string\)\"?([a-z_,]+)", text)
    if verdict:
        print(f"lvchallenge asked {verdict.group(2)}: passed={verdict.group(1)}")
    found = re.search(r"token=\(string\)([A-Za-z0-9_.-]+)", text)
    if not found:
        sys.exit("no liveness-token message on the bus")
    token = found.group(1)
    header, payload, signature = token.split(".")
    mac = hmac.new(os.environ["DEMO_KEY"].encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    valid = hmac.compare_digest(base64.urlsafe_b64encode(mac).rstrip(b"=").decode(), signature)
    claims = b64json(payload)
    if "bestshot" in claims:
        size = len(base64.b64decode(claims["bestshot"]))
        claims["bestshot"] = claims["bestshot"][:24] + f"... ({size} bytes of JPEG)"
    state = "valid" if valid else "INVALID"
    print(f"token: {len(token)} characters, signature {state} with the DEMO key")
    print("header:", json.dumps(b64json(header)))
    print("payload:", json.dumps(claims, indent=2))
    errors = ", ".join(f"{e} ({names.get(str(e), '?')})" for e in claims["errors"]) or "none"
    print(f"isOk: {claims['isOk']}, errors: {errors}")
    if not valid:
        sys.exit(1)


main()
