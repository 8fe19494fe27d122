"""A parser for ConnectWise ``conditions``: tokenizer plus recursive descent.

    conditions := or
    or         := and ("or" and)*
    and        := unary ("and" unary)*
    unary      := "not" unary | "(" or ")" | comparison
    comparison := path ["not"] ("=" | "!=" | "<" | "<=" | ">" | ">=" | "like" | "contains") value
                | path ["not"] "in" "(" value ("," value)* ")"
    value      := "string" | number | [date] | true | false | null
    path       := name ("/" name)*

``and`` binds tighter than ``or``; keywords are case-insensitive; strings are double-quoted with
backslash escapes (``\\"``, ``\\\\``); dates are ``[2026-01-01T00:00:00Z]`` (or ``[2026-01-01]``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

Value = str | Decimal | dt.datetime | bool | None

KEYWORDS = {"and", "or", "not", "like", "contains", "in", "true", "false", "null"}
SYMBOLS = ("<=", ">=", "!=", "=", "<", ">", "(", ")", ",")
COMPARATORS = {"=", "!=", "<", "<=", ">", ">=", "like", "contains"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}:\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?")


class ConditionSyntaxError(ValueError):
    """Conditions that cannot be parsed; the message says where."""


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "keyword", "symbol", "string", "number", "date"
    text: str
    value: Value
    at: int


@dataclass(frozen=True)
class Comparison:
    path: str
    operator: str  # one of COMPARATORS, or "in"
    value: Value | tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class BoolOp:
    operator: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Comparison | BoolOp | Not


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; anything unreadable raises :class:`ConditionSyntaxError`."""
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        token = _read_token(text, at)
        tokens.append(token)
        at = token.at + len(token.text)
    return tokens


def _read_token(text: str, at: int) -> Token:
    char = text[at]
    if char == '"':
        return _read_string(text, at)
    if char == "[":
        return _read_date(text, at)
    for symbol in SYMBOLS:
        if text.startswith(symbol, at):
            return Token("symbol", symbol, None, at)
    number = _NUMBER.match(text, at)
    if number:
        return Token("number", number.group(0), Decimal(number.group(0)), at)
    name = _NAME.match(text, at)
    if name:
        word = name.group(0)
        lowered = word.lower()
        if lowered in KEYWORDS:
            value = {"true": True, "false": False}.get(lowered)
            return Token("keyword", word, value, at)
        return Token("name", word, None, at)
    raise ConditionSyntaxError(f"unexpected character {char!r} at position {at + 1}")


def _read_string(text: str, start: int) -> Token:
    chars: list[str] = []
    at = start + 1
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            chars.append(text[at + 1])
            at += 2
        elif char == '"':
            return Token("string", text[start : at + 1], "".join(chars), start)
        else:
            chars.append(char)
            at += 1
    raise ConditionSyntaxError(f"the string starting at position {start + 1} is not closed")


def _read_date(text: str, start: int) -> Token:
    end = text.find("]", start)
    if end < 0:
        raise ConditionSyntaxError(f"the date starting at position {start + 1} is not closed")
    inside = text[start + 1 : end].strip()
    found = _DATE.fullmatch(inside)
    try:
        if found is None:
            raise ValueError(inside)
        day, time, zone = found.groups()
        moment = dt.datetime.fromisoformat(f"{day}T{time or '00:00:00'}{zone or '+00:00'}")
    except ValueError:
        raise ConditionSyntaxError(
            f"[{inside}] at position {start + 1} is not a date like [2026-01-01T00:00:00Z]"
        ) from None
    return Token("date", text[start : end + 1], moment.astimezone(dt.UTC), start)


def parse(text: str) -> Node:
    """The syntax tree of a conditions string."""
    parser = _Parser(tokenize(text), text)
    if not parser.tokens:
        raise ConditionSyntaxError("the conditions are empty")
    node = parser.or_expression()
    if parser.peek() is not None:
        parser.fail("expected 'and', 'or' or the end")
    return node


class _Parser:
    def __init__(self, tokens: list[Token], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def fail(self, expected: str) -> NoReturn:
        token = self.peek()
        where = f"{token.text!r} at position {token.at + 1}" if token else "the end"
        raise ConditionSyntaxError(f"{expected}, found {where} in: {self.text}")

    def accept(self, kind: str, *texts: str) -> Token | None:
        token = self.peek()
        if token is None or token.kind != kind:
            return None
        if texts and token.text.lower() not in texts:
            return None
        self.index += 1
        return token

    def or_expression(self) -> Node:
        node = self.and_expression()
        while self.accept("keyword", "or"):
            node = BoolOp("or", node, self.and_expression())
        return node

    def and_expression(self) -> Node:
        node = self.unary()
        while self.accept("keyword", "and"):
            node = BoolOp("and", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("keyword", "not"):
            return Not(self.unary())
        if self.accept("symbol", "("):
            node = self.or_expression()
            if not self.accept("symbol", ")"):
                self.fail("expected ')'")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        name = self.accept("name")
        if name is None:
            self.fail("expected a field name")
        negated = self.accept("keyword", "not") is not None
        if self.accept("keyword", "in"):
            return Comparison(name.text, "in", self.value_list(), negated)
        operator = self.accept("symbol", *COMPARATORS) or self.accept("keyword", *COMPARATORS)
        if operator is None or (negated and operator.kind == "symbol"):
            self.fail(f"expected an operator after {name.text}")
        return Comparison(name.text, operator.text.lower(), self.value(), negated)

    def value_list(self) -> tuple[Value, ...]:
        if not self.accept("symbol", "("):
            self.fail("expected '(' after 'in'")
        values = [self.value()]
        while self.accept("symbol", ","):
            values.append(self.value())
        if not self.accept("symbol", ")"):
            self.fail("expected ',' or ')' in the list")
        return tuple(values)

    def value(self) -> Value:
        token = self.peek()
        if token is not None and token.kind in ("string", "number", "date"):
            self.index += 1
            return token.value
        if self.accept("keyword", "true", "false", "null"):
            return token.value if token else None
        self.fail('expected a value (a "string", a number, a [date], true, false or null)')
