"""GitHub Actions expressions for the local harness (gha.py).

Values and GitHub's coercions, parsing `${{ }}` expressions into a tuple
AST, and evaluating them against contexts (Evaluator).
"""
from __future__ import annotations

import functools
import glob
import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any, Callable

from gha_errors import ExpressionError


# ---------------------------------------------------------------------------
# Expression values
# ---------------------------------------------------------------------------

class _Filtered(list):
    """The array an object filter (`a.*`) yields; property access maps over it."""


def kind_of(value: Any) -> str:
    """The expression type of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def truthy(value: Any) -> bool:
    """GitHub truthiness: null, false, 0, NaN and '' are falsy."""
    if value is None or value is False or value == "":
        return False
    if kind_of(value) == "number":
        return not (value == 0 or math.isnan(value))
    return True


_NUMBER_TEXT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


def to_number(value: Any) -> float:
    """Coerce a value to a number the way GitHub does for comparisons."""
    kind = kind_of(value)
    if kind == "null":
        return 0
    if kind in ("bool", "number"):
        return float(value)
    if kind == "string":
        text = value.strip()
        if text == "":
            return 0
        if re.fullmatch(r"0x[0-9a-fA-F]+", text):
            return float(int(text, 16))
        return float(text) if _NUMBER_TEXT.match(text) else math.nan
    return math.nan


def format_number(value: float) -> str:
    """Render a number as GitHub does (integers without a decimal point)."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")


def to_str(value: Any) -> str:
    """Convert an expression value to the string GitHub would substitute."""
    kind = kind_of(value)
    if kind == "null":
        return ""
    if kind == "bool":
        return "true" if value else "false"
    if kind == "number":
        return format_number(value)
    if kind == "array":
        return "Array"
    if kind == "object":
        return "Object"
    return value


def loose_equal(left: Any, right: Any) -> bool:
    """`==` with GitHub's coercions (numbers for mixed types, case-blind strings)."""
    lkind, rkind = kind_of(left), kind_of(right)
    if lkind != rkind:
        return to_number(left) == to_number(right)
    if lkind == "string":
        return left.upper() == right.upper()
    if lkind == "number":
        return float(left) == float(right)
    if lkind in ("array", "object"):
        return left is right
    return left == right


def compare(op: str, left: Any, right: Any) -> bool:
    """`< <= > >=` with GitHub's coercions."""
    if kind_of(left) == "string" and kind_of(right) == "string":
        left, right = left.upper(), right.upper()
    elif "array" in (kind_of(left), kind_of(right)) or "object" in (kind_of(left), kind_of(right)):
        return False
    else:
        left, right = to_number(left), to_number(right)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def lookup(obj: Any, name: str) -> Any:
    """Property access: case-insensitive for objects, null when missing."""
    if isinstance(obj, _Filtered):
        found = _Filtered()
        for item in obj:
            value = lookup(item, name)
            if value is not None:
                found.append(value)
        return found
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    low = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == low:
            return value
    return None


def index(obj: Any, key: Any) -> Any:
    """`obj[key]`: arrays by number, objects by string, otherwise null."""
    if isinstance(obj, _Filtered):
        return _Filtered(v for v in (index(item, key) for item in obj) if v is not None)
    if isinstance(obj, list):
        number = to_number(key)
        if math.isnan(number) or math.isinf(number) or number < 0:
            return None
        position = int(number)
        return obj[position] if position < len(obj) else None
    if isinstance(obj, dict):
        return lookup(obj, to_str(key))
    return None


# ---------------------------------------------------------------------------
# Expression parsing
# ---------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>-?(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))
  | (?P<str>'(?:[^']|'')*')
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,*])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
""", re.X)

_KEYWORDS = {"true": True, "false": False, "null": None,
             "NaN": math.nan, "Infinity": math.inf}

# name -> (min args, max args); None means unbounded.
_FUNCTIONS = {
    "success": (0, 0), "failure": (0, 0), "always": (0, 0), "cancelled": (0, 0),
    "contains": (2, 2), "startswith": (2, 2), "endswith": (2, 2),
    "format": (1, None), "join": (1, 2), "tojson": (1, 1), "fromjson": (1, 1),
    "hashfiles": (1, None),
}
_STATUS_FUNCTIONS = {"success", "failure", "always", "cancelled"}


def tokenize(text: str) -> list[tuple[str, Any, int]]:
    """Split an expression into (kind, value, position) tokens."""
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise ExpressionError(f"Unexpected symbol: '{text[pos:]}'. Located at position "
                                  f"{pos + 1} within expression: {text}")
        kind, raw = match.lastgroup, match.group()
        if kind == "num":
            value: Any = int(raw, 16) if "x" in raw else (
                float(raw) if any(c in raw for c in ".eE") else int(raw))
            tokens.append(("lit", value, pos))
        elif kind == "str":
            tokens.append(("lit", raw[1:-1].replace("''", "'"), pos))
        elif kind == "ident" and raw in _KEYWORDS:
            tokens.append(("lit", _KEYWORDS[raw], pos))
        elif kind != "ws":
            tokens.append((kind, raw, pos))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive-descent parser producing a tuple AST.

    Precedence (low to high): ||, &&, == !=, < <= > >=, !, postfix.
    """

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def parse(self) -> tuple:
        """Parse the whole expression."""
        if not self.tokens:
            raise ExpressionError("Expected an expression, got an empty string")
        node = self._or()
        if self.pos < len(self.tokens):
            self._fail(self.tokens[self.pos])
        return node

    def _peek(self, *ops: str) -> bool:
        tok = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        return tok is not None and tok[0] == "op" and tok[1] in ops

    def _next(self) -> tuple:
        if self.pos >= len(self.tokens):
            raise ExpressionError(f"Unexpected end of expression: {self.text}")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _expect(self, op: str) -> None:
        tok = self._next()
        if tok[0] != "op" or tok[1] != op:
            self._fail(tok)

    def _fail(self, tok: tuple) -> None:
        raise ExpressionError(f"Unexpected symbol: '{tok[1]}'. Located at position "
                              f"{tok[2] + 1} within expression: {self.text}")

    def _binary(self, ops: tuple[str, ...], operand: Callable[[], tuple], tag: str) -> tuple:
        node = operand()
        while self._peek(*ops):
            op = self._next()[1]
            right = operand()
            node = (tag, node, right) if tag in ("or", "and") else (tag, op, node, right)
        return node

    def _or(self) -> tuple:
        return self._binary(("||",), self._and, "or")

    def _and(self) -> tuple:
        return self._binary(("&&",), self._equality, "and")

    def _equality(self) -> tuple:
        return self._binary(("==", "!="), self._comparison, "cmp")

    def _comparison(self) -> tuple:
        return self._binary(("<", "<=", ">", ">="), self._unary, "cmp")

    def _unary(self) -> tuple:
        if self._peek("!"):
            self._next()
            return ("not", self._unary())
        return self._postfix()

    def _postfix(self) -> tuple:
        node = self._primary()
        while self._peek(".", "["):
            if self._next()[1] == ".":
                tok = self._next()
                if tok[0] == "op" and tok[1] == "*":
                    node = ("star", node)
                elif tok[0] == "ident" or (tok[0] == "lit" and isinstance(tok[1], bool | None)):
                    node = ("prop", node, tok[1] if tok[0] == "ident" else to_str(tok[1]) or "null")
                else:
                    self._fail(tok)
            elif self._peek("*"):
                self._next()
                self._expect("]")
                node = ("star", node)
            else:
                key = self._or()
                self._expect("]")
                node = ("index", node, key)
        return node

    def _primary(self) -> tuple:
        tok = self._next()
        if tok[0] == "lit":
            return ("lit", tok[1])
        if tok[0] == "op" and tok[1] == "(":
            node = self._or()
            self._expect(")")
            return node
        if tok[0] == "ident":
            return self._call(tok) if self._peek("(") else ("ctx", tok[1])
        self._fail(tok)
        raise AssertionError("unreachable")

    def _call(self, tok: tuple) -> tuple:
        name = tok[1].lower()
        if name not in _FUNCTIONS:
            raise ExpressionError(f"Unrecognized function: '{tok[1]}'. Located at position "
                                  f"{tok[2] + 1} within expression: {self.text}")
        self._expect("(")
        args: list[tuple] = []
        if not self._peek(")"):
            args.append(self._or())
            while self._peek(","):
                self._next()
                args.append(self._or())
        self._expect(")")
        low, high = _FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise ExpressionError(f"Function '{tok[1]}' got {len(args)} argument(s); "
                                  f"expected {low}..{high if high is not None else 'n'}: {self.text}")
        return ("call", name, tuple(args))


@functools.lru_cache(maxsize=2048)
def parse_expression(text: str) -> tuple:
    """Parse an expression (without `${{ }}`) into a cached AST."""
    return _Parser(text).parse()


def uses_status_function(text: str) -> bool:
    """Whether an expression calls success(), failure(), always() or cancelled()."""
    def walk(node: Any) -> bool:
        if isinstance(node, tuple) and node:
            if node[0] == "call" and node[1] in _STATUS_FUNCTIONS:
                return True
            return any(walk(child) for child in node[1:])
        return False
    return walk(parse_expression(text))


def split_template(text: str) -> list[str | tuple[str]]:
    """Split a string into literal parts and ('expr',) markers for `${{ }}`.

    An expression part is a 1-tuple holding the expression text; `}}`
    inside a quoted string does not close it.
    """
    parts: list[str | tuple[str]] = []
    pos = 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            parts.append(text[pos:])
            return [p for p in parts if p != ""]
        parts.append(text[pos:start])
        cursor, quoted = start + 3, False
        while cursor < len(text):
            if text[cursor] == "'":
                quoted = not quoted
            elif not quoted and text.startswith("}}", cursor):
                break
            cursor += 1
        else:
            raise ExpressionError(f"The expression is not closed: {text[start:]!r}")
        parts.append((text[start + 3:cursor].strip(),))
        pos = cursor + 2


# ---------------------------------------------------------------------------
# Expression evaluation
# ---------------------------------------------------------------------------

class Evaluator:
    """Evaluates expressions against a set of contexts.

    `contexts` maps context names (github, env, steps, ...) to values; a
    name not in it is an error.  `status` returns the current status
    ('success', 'failure', 'cancelled' or, for jobs, 'skipped') for the
    status-check functions; `workspace` anchors hashFiles().
    """

    def __init__(self, contexts: dict[str, Any], status: Callable[[], str] = lambda: "success",
                 workspace: str | Path | None = None):
        self.contexts = {name.lower(): value for name, value in contexts.items()}
        self.status = status
        self.workspace = Path(workspace) if workspace else None

    def evaluate(self, text: str) -> Any:
        """Evaluate one expression (the text inside `${{ }}`)."""
        return self._eval(parse_expression(text), text)

    def render(self, value: Any) -> Any:
        """Substitute `${{ }}` in a YAML value; a lone expression keeps its type."""
        if not isinstance(value, str):
            return value
        parts = split_template(value)
        if len(parts) == 1 and isinstance(parts[0], tuple):
            return self.evaluate(parts[0][0])
        return "".join(p if isinstance(p, str) else to_str(self.evaluate(p[0])) for p in parts)

    def render_str(self, value: Any) -> str:
        """`render` converted to a string (how env, run and with see it)."""
        return to_str(self.render(value))

    def condition(self, cond: Any) -> bool:
        """Evaluate an `if:` (with or without `${{ }}`, default success())."""
        if cond is None:
            text = "success()"
        else:
            text = (to_str(cond) if not isinstance(cond, str) else cond).strip()
            parts = split_template(text) if "${{" in text else None
            if parts and len(parts) == 1 and isinstance(parts[0], tuple):
                text = parts[0][0]
            elif parts:
                rendered = self.render_str(text)
                text = "true" if rendered else "false"
        if not uses_status_function(text):
            text = f"success() && ({text})"
        return truthy(self.evaluate(text))

    def _eval(self, node: tuple, text: str) -> Any:
        tag = node[0]
        if tag == "lit":
            return node[1]
        if tag == "ctx":
            if node[1].lower() not in self.contexts:
                raise ExpressionError(f"Unrecognized named-value: '{node[1]}'. "
                                      f"Located within expression: {text}")
            return self.contexts[node[1].lower()]
        if tag == "prop":
            return lookup(self._eval(node[1], text), node[2])
        if tag == "index":
            return index(self._eval(node[1], text), self._eval(node[2], text))
        if tag == "star":
            return self._star(self._eval(node[1], text))
        if tag == "not":
            return not truthy(self._eval(node[1], text))
        if tag == "and":
            left = self._eval(node[1], text)
            return self._eval(node[2], text) if truthy(left) else left
        if tag == "or":
            left = self._eval(node[1], text)
            return left if truthy(left) else self._eval(node[2], text)
        if tag == "cmp":
            return self._compare(node[1], self._eval(node[2], text), self._eval(node[3], text))
        return getattr(self, "_fn_" + node[1])(*(self._eval(arg, text) for arg in node[2]))

    @staticmethod
    def _star(value: Any) -> _Filtered:
        if isinstance(value, dict):
            return _Filtered(value.values())
        if isinstance(value, list):
            return _Filtered(value)
        return _Filtered()

    @staticmethod
    def _compare(op: str, left: Any, right: Any) -> bool:
        if op == "==":
            return loose_equal(left, right)
        if op == "!=":
            return not loose_equal(left, right)
        return compare(op, left, right)

    # Status-check functions.
    def _fn_success(self) -> bool:
        return self.status() == "success"

    def _fn_failure(self) -> bool:
        return self.status() == "failure"

    def _fn_cancelled(self) -> bool:
        return self.status() == "cancelled"

    def _fn_always(self) -> bool:
        return True

    # Other functions.
    @staticmethod
    def _fn_contains(search: Any, item: Any) -> bool:
        if isinstance(search, list):
            return any(loose_equal(element, item) for element in search)
        return to_str(item).upper() in to_str(search).upper()

    @staticmethod
    def _fn_startswith(search: Any, prefix: Any) -> bool:
        return to_str(search).upper().startswith(to_str(prefix).upper())

    @staticmethod
    def _fn_endswith(search: Any, suffix: Any) -> bool:
        return to_str(search).upper().endswith(to_str(suffix).upper())

    @staticmethod
    def _fn_format(template: Any, *args: Any) -> str:
        text, out, pos = to_str(template), [], 0
        while pos < len(text):
            if text.startswith("{{", pos) or text.startswith("}}", pos):
                out.append(text[pos])
                pos += 2
            elif text[pos] == "{":
                close = text.find("}", pos)
                number = text[pos + 1:close] if close > 0 else ""
                if not number.isdigit() or int(number) >= len(args):
                    raise ExpressionError(f"The following format string is invalid: {text}")
                out.append(to_str(args[int(number)]))
                pos = close + 1
            elif text[pos] == "}":
                raise ExpressionError(f"The following format string is invalid: {text}")
            else:
                out.append(text[pos])
                pos += 1
        return "".join(out)

    @staticmethod
    def _fn_join(items: Any, separator: Any = ",") -> str:
        if isinstance(items, list):
            return to_str(separator).join(to_str(item) for item in items)
        return to_str(items)

    @staticmethod
    def _fn_tojson(value: Any) -> str:
        return json.dumps(value, indent=2)

    @staticmethod
    def _fn_fromjson(value: Any) -> Any:
        try:
            return json.loads(to_str(value))
        except json.JSONDecodeError as exc:
            raise ExpressionError(f"Error parsing fromJson: {exc}: {to_str(value)!r}") from exc

    def _fn_hashfiles(self, *patterns: Any) -> str:
        if self.workspace is None:
            raise ExpressionError("hashFiles() is not available here")
        included: set[Path] = set()
        excluded: set[Path] = set()
        for pattern in map(to_str, patterns):
            target = excluded if pattern.startswith("!") else included
            for name in glob.glob(str(self.workspace / pattern.lstrip("!")), recursive=True):
                path = Path(name)
                if path.is_file() and path.resolve().is_relative_to(self.workspace.resolve()):
                    target.add(path)
        files = sorted(included - excluded)
        if not files:
            return ""
        total = hashlib.sha256()
        for path in files:
            total.update(hashlib.sha256(path.read_bytes()).digest())
        return total.hexdigest()
