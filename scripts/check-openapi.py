#!/usr/bin/env python3
"""Checks lpserver's OpenAPI contract against the server's real answers.

    check-openapi.py OPENAPI_JSON EXCHANGES_JSON

OPENAPI_JSON is the document of GET /openapi.json; EXCHANGES_JSON a list of requests made to
the same server and their answers, as tests/openapi.rs writes them:
{"method", "path", "status", "content_type", "request": JSON or null, "response": JSON or null}.

1. openapi-spec-validator (an independent implementation, from PyPI) validates the document.
2. Every exchange's path and method is an operation of the document, and its status one of the
   operation's answers, with the content type the document gives.
3. Every JSON answer validates against its schema, and every accepted JSON request against the
   operation's request schema, strictly: an object may hold no property its schema leaves out,
   so a field the server sends or reads without the contract naming it fails.
4. Every operation of the document was exercised, and every one answered its success status.

Needs .cache/openapi-validator (scripts/fetch-openapi-validator.sh) on the path. Exit 0 when
everything holds, 1 with the list of failures otherwise.
"""

import copy
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / ".cache" / "openapi-validator"))

from jsonschema import Draft202012Validator  # noqa: E402
from openapi_spec_validator import validate  # noqa: E402


def strict(node):
    """A copy of `node` where every object schema with properties allows no other property."""
    if isinstance(node, dict):
        out = {key: strict(value) for key, value in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(item) for item in node]
    return node


def operation_of(spec, method, path):
    """The template and operation of `path` (a concrete path) and `method`, or (None, None)."""
    for template, item in spec["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path.split("?")[0]) and method.lower() in item:
            return template, item[method.lower()]
    return None, None


def check(spec, exchanges):
    failures = []
    try:
        validate(spec)
    except Exception as err:  # the validator's own error types
        failures.append(f"the document is not valid OpenAPI: {err}")
        return failures
    components = strict(spec.get("components", {}))

    def errors_of(instance, schema):
        root = dict(strict(schema))
        root["components"] = components
        return sorted(Draft202012Validator(root).iter_errors(instance), key=str)

    seen = {}
    for number, exchange in enumerate(exchanges):
        method, path, status = exchange["method"], exchange["path"], exchange["status"]
        where = f"#{number} {method} {path} -> {status}"
        template, operation = operation_of(spec, method, path)
        if operation is None:
            failures.append(f"{where}: no operation of the document")
            continue
        seen.setdefault((method.lower(), template), set()).add(status)
        answer = operation["responses"].get(str(status))
        if answer is None:
            failures.append(f"{where}: status {status} is not an answer of the operation")
            continue
        media = (exchange.get("content_type") or "").split(";")[0].strip()
        declared = answer.get("content", {})
        if declared and media not in declared:
            failures.append(f"{where}: content type {media!r}, the document gives {sorted(declared)}")
            continue
        if media == "application/json":
            for error in errors_of(exchange["response"], declared[media]["schema"]):
                failures.append(f"{where}: answer: {error.message} at {list(error.absolute_path)}")
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body and 200 <= status < 300:
            for error in errors_of(exchange["request"], body["schema"]):
                failures.append(f"{where}: request: {error.message} at {list(error.absolute_path)}")
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            statuses = seen.get((method, template))
            if not statuses:
                failures.append(f"{method.upper()} {template}: never exercised")
                continue
            success = {int(s) for s in operation["responses"] if s.startswith("2")}
            if not success & statuses:
                failures.append(f"{method.upper()} {template}: never answered {sorted(success)}")
    return failures


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    spec = json.loads(Path(sys.argv[1]).read_text())
    exchanges = json.loads(Path(sys.argv[2]).read_text())
    failures = check(spec, exchanges)
    for failure in failures:
        print(failure)
    operations = sum(len(item) for item in spec["paths"].values())
    print(f"{len(exchanges)} exchanges, {operations} operations: {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
