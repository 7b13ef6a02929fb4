"""Safe parser for quantizer specification strings.

QKeras lets users give quantizers (and activations) as strings, e.g.
``"quantized_bits(4, 0, 1, alpha='auto_po2')"`` or ``"binary"``.  This module
turns such a string into a name plus literal arguments *without* ever
evaluating code: there is no ``eval``/``exec``/``ast``/``pyparsing`` here, only
a small hand-written tokenizer and recursive-descent parser that accepts
literals and rejects everything else with a ``ValueError``.

Grammar (whitespace -- spaces, tabs, newlines -- may appear between any two
tokens; leading and trailing whitespace is ignored)::

    spec     := NAME [ '(' [ arglist ] ')' ] EOF
    NAME     := [A-Za-z_][A-Za-z0-9_]*
    arglist  := arg (',' arg)* [',']           # one trailing comma allowed
    arg      := NAME '=' value | value         # positionals before keywords
    value    := number | string | True | False | None | NAME | list
    number   := [+-] (digits ['.' digits*] | '.' digits) [(e|E) [+-] digits]
                # no fraction and no exponent -> int, otherwise float
    string   := '...' | "..."                  # escapes: \\ \' \" only
    list     := '[' [ value ((',' | whitespace) value)* [','] ] ']'

A bare ``NAME`` used as a value is the string itself (``alpha=auto_po2`` is
``alpha='auto_po2'``).  List items may be separated by commas or by whitespace
so that numpy's print form (``[1. 2. 0.5]``, ``[[1 2] [3 4]]``) is accepted.

Rejected (``ValueError``): calls and nested calls (``f(g(1))``), attribute
access (``a.b``), operators (``1+2``, ``-x``), subscripts, lambdas, text after
the closing ``)`` or after a bare name, unbalanced brackets or quotes, empty
strings, ``alpha=`` without a value, ``=3``, positional arguments after
keyword arguments, duplicate keywords, hex/octal/underscore/complex numbers,
non-finite floats and non-``str`` input.  Size limits (module constants,
``MAX_*`` below) bound the work done on hostile input.

Error messages look like::

    Cannot parse quantizer "f(4, max(1, 2))": unexpected '(' at position 8;
    arguments must be literals (numbers, strings, True/False/None, lists),
    not calls or expressions

i.e. the (possibly truncated) original string, a description naming the
offending token, its 0-based character position and a hint.

Differences from upstream QKeras (whose parser was pyparsing based):

* Unquoted strings are no longer mangled: upstream turned ``alpha=auto`` into
  ``'ut'`` (first and last characters dropped); ``Str`` only strips a real
  pair of matching quotes.
* Text after the first ``)`` is an error instead of being silently ignored.
* Nested parentheses are an error instead of silently dropping all arguments.
* ``safe_eval`` looks names up in an explicit ``op_dict`` instead of a whole
  module's globals, and its Keras fallback only accepts the public activation
  functions of ``keras.activations`` (never ``keras.activations.get`` or
  Keras deserialization on user strings).
* Numbers keep their type: ``4`` is an ``int``, ``4.``/``4.0``/``1e3`` floats.
"""

import inspect
from typing import Any, Dict, List, NamedTuple

__all__ = [
    "ParsedCall",
    "SpecError",
    "parse_call",
    "safe_eval",
    "GetParams",
    "GetArg",
    "Num",
    "Str",
    "IsNum",
    "IsBool",
    "IsNone",
    "Bool",
    "ListofNums",
    "IsListofNums",
    "MAX_SPEC_LENGTH",
    "MAX_NUMBER_LENGTH",
    "MAX_LIST_DEPTH",
    "MAX_LIST_ELEMENTS",
    "MAX_ARGUMENTS",
]

# Limits; read at parse time, so tests may monkeypatch them.
MAX_SPEC_LENGTH = 100_000
MAX_NUMBER_LENGTH = 100
MAX_LIST_DEPTH = 8
MAX_LIST_ELEMENTS = 100_000
MAX_ARGUMENTS = 64

_WHITESPACE = " \t\n\r"
_DIGITS = "0123456789"
_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
_NAME_CHARS = _NAME_START + _DIGITS
_PUNCTUATION = "()[],="
_QUOTES = "'\""
_ESCAPABLE = "\\'\""
_CONSTANTS = {"True": True, "False": False, "None": None}
_VALUE_START = ("number", "string", "name", "[")
_MAX_SHOWN = 80

_HINT_LITERAL = ("arguments must be literals (numbers, strings, "
                 "True/False/None, lists), not calls or expressions")
_HINT_CHAR = ("only names, literals (numbers, strings, True/False/None, lists) "
              "and the punctuation ( ) [ ] , = are allowed")
_HINT_VALUE = ("expected a value: a number, a string, True/False/None, "
               "a name or a list")

_KERAS_EXCLUDED = frozenset({"get", "serialize", "deserialize"})


class SpecError(ValueError):
  """Raised when a quantizer specification string cannot be parsed."""


class ParsedCall(NamedTuple):
  """Result of `parse_call`: ``name(*args, **kwargs)``."""
  name: str
  args: List[Any]
  kwargs: Dict[str, Any]
  has_parens: bool


class _Token(NamedTuple):
  """One lexical token; ``pos``/``end`` index into the source string."""
  kind: str          # 'name', 'number', 'string', 'end' or a punctuation char
  value: Any         # parsed value for numbers and strings
  pos: int
  end: int
  space_before: bool  # whitespace directly precedes the token


def _shorten(text, limit=_MAX_SHOWN):
  """Truncates ``text`` to about ``limit`` chars; escapes \\n, \\r, \\t."""
  if len(text) > limit:
    text = text[:limit - 3] + "..."
  return text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _check_source(source, label):
  """Raises SpecError unless ``source`` is a str within MAX_SPEC_LENGTH."""
  if not isinstance(source, str):
    raise SpecError(f"Cannot parse {label}: expected a str, got "
                    f"{type(source).__name__} ({_shorten(repr(source))})")
  if len(source) > MAX_SPEC_LENGTH:
    raise SpecError(f'Cannot parse {label} "{_shorten(source)}": string is too '
                    f"long ({len(source)} characters; limit MAX_SPEC_LENGTH="
                    f"{MAX_SPEC_LENGTH})")


class _Lexer:
  """On-demand tokenizer, so errors are reported in source order."""

  def __init__(self, source, fail):
    """``fail(pos, description, hint)`` must return an exception to raise."""
    self.src = source
    self.pos = 0
    self.fail = fail
    self._peeked = None

  def peek(self):
    """Returns the next token without consuming it."""
    if self._peeked is None:
      self._peeked = self._scan()
    return self._peeked

  def next(self):
    """Consumes and returns the next token."""
    tok = self.peek()
    self._peeked = None
    return tok

  def _skip_whitespace(self):
    """Advances past whitespace; returns True if any was skipped."""
    start = self.pos
    while self.pos < len(self.src) and self.src[self.pos] in _WHITESPACE:
      self.pos += 1
    return self.pos > start

  def _scan(self):
    """Scans one token starting at the current position."""
    space = self._skip_whitespace()
    start, src = self.pos, self.src
    if start >= len(src):
      return _Token("end", None, start, start, space)
    char = src[start]
    if char in _PUNCTUATION:
      self.pos = start + 1
      return _Token(char, None, start, start + 1, space)
    if char in _QUOTES:
      return self._scan_string(start, space)
    if self._starts_number(start):
      return self._scan_number(start, space)
    if char in _NAME_START:
      return self._scan_name(start, space)
    if char in "+-":
      hint = "a sign is only allowed directly before a number; " + _HINT_LITERAL
    elif char == ".":
      hint = "attribute access is not allowed; " + _HINT_LITERAL
    else:
      hint = _HINT_CHAR
    raise self.fail(start, f"unexpected {char!r}", hint)

  def _digits_end(self, pos):
    """Returns the index after the run of ASCII digits starting at ``pos``."""
    while pos < len(self.src) and self.src[pos] in _DIGITS:
      pos += 1
    return pos

  def _starts_number(self, pos):
    """True if a number starts at ``pos``: ``[+-]`` then digit or '.'digit."""
    src = self.src
    if pos < len(src) and src[pos] in "+-":
      pos += 1
    if pos < len(src) and src[pos] == ".":
      pos += 1
    return pos < len(src) and src[pos] in _DIGITS

  def _number_end(self, start):
    """Returns (end, is_float) for the number literal at ``start``."""
    src = self.src
    pos = start + 1 if src[start] in "+-" else start
    pos = self._digits_end(pos)
    is_float = False
    if pos < len(src) and src[pos] == ".":
      pos, is_float = self._digits_end(pos + 1), True
    if pos < len(src) and src[pos] in "eE":
      exp = pos + 1
      if exp < len(src) and src[exp] in "+-":
        exp += 1
      exp_end = self._digits_end(exp)
      if exp_end > exp:
        pos, is_float = exp_end, True
    return pos, is_float

  def _scan_number(self, start, space):
    """Scans an int or float literal starting at ``start``."""
    end, is_float = self._number_end(start)
    src = self.src
    if end < len(src) and (src[end] in _NAME_CHARS or src[end] == "."):
      raise self.fail(end, f"unexpected {src[end]!r}",
                      "malformed number (hex, octal, underscores, complex "
                      "numbers and suffixes are not supported)")
    if end - start > MAX_NUMBER_LENGTH:
      raise self.fail(start, f"number literal too long ({end - start} "
                      "characters; limit MAX_NUMBER_LENGTH="
                      f"{MAX_NUMBER_LENGTH})", None)
    text = src[start:end]
    self.pos = end
    return _Token("number", self._convert_number(text, start, is_float),
                  start, end, space)

  def _convert_number(self, text, start, is_float):
    """Converts validated number text to int or (finite) float."""
    if not is_float:
      digits = text.lstrip("+-")
      if len(digits) > 1 and digits[0] == "0":
        raise self.fail(start, f"unexpected {text!r}",
                        "integers may not have leading zeros (octal is not "
                        "supported)")
      return int(text)
    value = float(text)
    if value in (float("inf"), float("-inf")):
      raise self.fail(start, f"number {text!r} out of range", None)
    return value

  def _scan_string(self, start, space):
    """Scans a quoted string with \\\\, \\' and \\" escapes."""
    src, quote = self.src, self.src[start]
    chars, pos = [], start + 1
    while True:
      if pos >= len(src):
        raise self.fail(start,
                        f"unterminated string {_shorten(src[start:], 30)!r}",
                        f"missing closing {quote}")
      char = src[pos]
      if char == quote:
        self.pos = pos + 1
        return _Token("string", "".join(chars), start, pos + 1, space)
      if char in "\n\r":
        raise self.fail(pos, "unexpected newline inside string",
                        f"missing closing {quote}")
      if char == "\\":
        escaped = src[pos + 1:pos + 2]
        if not escaped or escaped not in _ESCAPABLE:
          raise self.fail(pos, f"unsupported escape {src[pos:pos + 2]!r}",
                          "only \\\\, \\' and \\\" escapes are supported")
        char, pos = escaped, pos + 1
      chars.append(char)
      pos += 1

  def _scan_name(self, start, space):
    """Scans an identifier."""
    end = start + 1
    while end < len(self.src) and self.src[end] in _NAME_CHARS:
      end += 1
    self.pos = end
    return _Token("name", None, start, end, space)


class _Parser:
  """Recursive-descent parser over a `_Lexer`."""

  def __init__(self, source, label="quantizer", numbers_only=False):
    """Validates ``source``; ``label`` names the thing parsed in errors."""
    _check_source(source, label)
    self.src = source
    self.label = label
    self.numbers_only = numbers_only
    self.list_elements = 0
    self.lexer = _Lexer(source, self.error)

  # -- errors ----------------------------------------------------------------

  def error(self, pos, description, hint=None):
    """Builds a SpecError in the standard format."""
    message = (f'Cannot parse {self.label} "{_shorten(self.src)}": '
               f"{description} at position {pos}")
    if hint:
      message += "; " + hint
    return SpecError(message)

  def describe(self, tok):
    """Human-readable form of a token for error messages."""
    if tok.kind == "end":
      return "end of string"
    return repr(_shorten(self.src[tok.pos:tok.end], 30))

  def unexpected(self, tok, hint):
    """Builds an 'unexpected <token>' SpecError."""
    return self.error(tok.pos, "unexpected " + self.describe(tok), hint)

  def unexpected_after_value(self, tok, hint):
    """Like `unexpected`, but reports a glued sign (``1+2``) as an operator."""
    if tok.kind == "number" and self.src[tok.pos] in "+-":
      return self.error(tok.pos, f"unexpected {self.src[tok.pos]!r}",
                        "operators are not allowed; " + _HINT_LITERAL)
    return self.unexpected(tok, hint)

  def expect_end(self, hint):
    """Raises unless the whole string has been consumed."""
    tok = self.lexer.next()
    if tok.kind != "end":
      raise self.unexpected(tok, hint)

  # -- grammar ---------------------------------------------------------------

  def parse_spec(self):
    """spec := NAME [ '(' [ arglist ] ')' ] EOF."""
    tok = self.lexer.next()
    if tok.kind != "name":
      raise self.unexpected(tok, "expected a quantizer name")
    name = self.src[tok.pos:tok.end]
    if self.lexer.peek().kind != "(":
      self.expect_end("expected '(' or end of string after the name")
      return ParsedCall(name, [], {}, False)
    args, kwargs = self.parse_arglist()
    self.expect_end("nothing may follow the closing ')'")
    return ParsedCall(name, args, kwargs, True)

  def parse_arglist(self):
    """'(' [ arg (',' arg)* [','] ] ')' -> (args, kwargs)."""
    tok = self.lexer.next()
    if tok.kind != "(":
      raise self.unexpected(tok, "expected '('")
    args, kwargs = [], {}
    if self.lexer.peek().kind == ")":
      self.lexer.next()
      return args, kwargs
    while True:
      self.parse_arg(args, kwargs)
      tok = self.lexer.next()
      if tok.kind == ")":
        return args, kwargs
      if tok.kind != ",":
        hint = "missing ')'" if tok.kind == "end" else (
            "expected ',' or ')'; " + _HINT_LITERAL)
        raise self.unexpected_after_value(tok, hint)
      if self.lexer.peek().kind == ")":
        self.lexer.next()
        return args, kwargs

  def parse_arg(self, args, kwargs):
    """arg := NAME '=' value | value; appends to ``args`` or ``kwargs``."""
    tok = self.lexer.next()
    if tok.kind == "name" and self.lexer.peek().kind == "=":
      self.lexer.next()
      key = self.check_keyword(tok, kwargs)
      kwargs[key] = self.parse_value(self.lexer.next(), 0)
    elif kwargs:
      raise self.unexpected(
          tok, "positional arguments must come before keyword arguments")
    else:
      args.append(self.parse_value(tok, 0))
    if len(args) + len(kwargs) > MAX_ARGUMENTS:
      raise self.error(tok.pos, f"too many arguments (limit MAX_ARGUMENTS="
                       f"{MAX_ARGUMENTS})")

  def check_keyword(self, tok, kwargs):
    """Returns the keyword name of ``tok`` after validity checks."""
    key = self.src[tok.pos:tok.end]
    if key in _CONSTANTS:
      raise self.unexpected(tok, "True/False/None cannot be keyword names")
    if key in kwargs:
      raise self.error(tok.pos, f"duplicate keyword argument {key!r}")
    return key

  def parse_value(self, tok, depth):
    """value := number | string | True | False | None | NAME | list."""
    if tok.kind in ("number", "string"):
      return tok.value
    if tok.kind == "name":
      text = self.src[tok.pos:tok.end]
      return _CONSTANTS[text] if text in _CONSTANTS else text
    if tok.kind == "[":
      return self.parse_list(tok, depth + 1)
    if tok.kind == "(":
      hint = _HINT_LITERAL
    elif tok.kind in (",", ")", "]", "end"):
      hint = "missing value; " + _HINT_VALUE
    else:
      hint = _HINT_VALUE
    raise self.unexpected(tok, hint)

  def parse_list(self, open_tok, depth):
    """list := '[' [ value ((',' | whitespace) value)* [','] ] ']'."""
    if depth > MAX_LIST_DEPTH:
      raise self.error(open_tok.pos, f"lists nested too deeply (limit "
                       f"MAX_LIST_DEPTH={MAX_LIST_DEPTH})")
    items = []
    tok = self.lexer.next()
    while tok.kind != "]":
      items.append(self.parse_list_item(tok, depth))
      tok = self.next_list_token()
    return items

  def parse_list_item(self, tok, depth):
    """Parses one list element, enforcing numbers_only and element limits."""
    if self.numbers_only and tok.kind != "number":
      raise self.unexpected(tok, "expected a number")
    self.list_elements += 1
    if self.list_elements > MAX_LIST_ELEMENTS:
      raise self.error(tok.pos, f"too many list elements (limit "
                       f"MAX_LIST_ELEMENTS={MAX_LIST_ELEMENTS})")
    return self.parse_value(tok, depth)

  def next_list_token(self):
    """Consumes the separator after a list item; returns the next token."""
    tok = self.lexer.next()
    if tok.kind == ",":
      return self.lexer.next()
    if tok.kind == "]" or (tok.kind in _VALUE_START and tok.space_before):
      return tok
    if tok.kind in _VALUE_START:
      raise self.unexpected_after_value(
          tok, "list items must be separated by commas or whitespace")
    raise self.unexpected(tok, "missing ']'" if tok.kind == "end" else
                          "expected ',' or ']'; " + _HINT_LITERAL)


# -- public API ----------------------------------------------------------------


def parse_call(s):
  """Parses ``"name"`` or ``"name(args...)"`` into a `ParsedCall`.

  Raises:
    SpecError (a ValueError): if ``s`` is not a str or does not follow the
      grammar in the module docstring.
  """
  return _Parser(s).parse_spec()


def GetParams(s):  # pylint: disable=invalid-name
  """Parses a full argument list such as ``"(4, alpha='auto')"``.

  Returns ``(args, kwargs)``; an empty (or whitespace-only) string gives
  ``([], {})``.  Anything after the closing ``)`` is an error.
  """
  parser = _Parser(s, "quantizer arguments")
  if parser.lexer.peek().kind == "end":
    return [], {}
  args, kwargs = parser.parse_arglist()
  parser.expect_end("nothing may follow the closing ')'")
  return args, kwargs


def GetArg(s):  # pylint: disable=invalid-name
  """Parses a single literal value (a bare identifier is returned as str)."""
  parser = _Parser(s, "quantizer argument")
  value = parser.parse_value(parser.lexer.next(), 0)
  parser.expect_end("expected a single value")
  return value


def _single_token(s, kinds, label):
  """Returns the value of ``s`` if it is exactly one token of ``kinds``."""
  parser = _Parser(s, label)
  tok = parser.lexer.next()
  if tok.kind not in kinds:
    raise parser.unexpected(tok, "expected " + " or ".join(kinds))
  parser.expect_end("expected a single value")
  return tok.value


def Num(s):  # pylint: disable=invalid-name
  """Returns an int, else a float, else the content of a quoted string."""
  return _single_token(s, ("number", "string"), "number")


def Str(s):  # pylint: disable=invalid-name
  """Strips one pair of matching surrounding quotes, if present."""
  if len(s) >= 2 and s[0] in _QUOTES and s[-1] == s[0]:
    return s[1:-1]
  return s


def IsNum(s):  # pylint: disable=invalid-name
  """True if ``s`` is a str holding exactly one int or float literal."""
  try:
    _single_token(s, ("number",), "number")
  except ValueError:
    return False
  return True


def IsBool(s):  # pylint: disable=invalid-name
  """True if ``s`` is exactly "True" or "False"."""
  return s in ("True", "False")


def IsNone(s):  # pylint: disable=invalid-name
  """True if ``s`` is exactly "None"."""
  return s == "None"


def Bool(s):  # pylint: disable=invalid-name
  """Returns ``s == "True"``."""
  return s == "True"


def ListofNums(s):  # pylint: disable=invalid-name
  """Parses a flat list of numbers, ``"[1, 2.5]"`` or numpy's ``"[1. 2.5]"``."""
  parser = _Parser(s, "list of numbers", numbers_only=True)
  tok = parser.lexer.next()
  if tok.kind != "[":
    raise parser.unexpected(tok, "expected '['")
  items = parser.parse_list(tok, 1)
  parser.expect_end("nothing may follow the closing ']'")
  return items


def IsListofNums(s):  # pylint: disable=invalid-name
  """True if `ListofNums` succeeds on ``s`` and gives at least one number."""
  try:
    return len(ListofNums(s)) >= 1
  except ValueError:
    return False


def _keras_activation(name):
  """Returns the public keras.activations function ``name``, or None."""
  if name.startswith("_") or name in _KERAS_EXCLUDED:
    return None
  import keras  # pylint: disable=g-import-not-at-top
  fn = getattr(keras.activations, name, None)
  if not inspect.isfunction(fn):
    return None
  if not getattr(fn, "__module__", "").startswith("keras"):
    return None
  return fn


def _known_names(op_dict, limit=30):
  """Sorted, truncated list of op_dict names for error messages."""
  names = sorted(str(k) for k in op_dict)
  shown = ", ".join(names[:limit])
  if len(names) > limit:
    shown += f", ... ({len(names) - limit} more)"
  return shown or "(none)"


def _apply(fn, call, params, kwparams):
  """Calls/instantiates/returns ``fn`` following upstream safe_eval rules."""
  if call.has_parens or call.args or call.kwargs or params or kwparams:
    kwargs = dict(call.kwargs)
    kwargs.update(kwparams)
    return fn(*call.args, *params, **kwargs)
  return fn() if isinstance(fn, type) else fn


def safe_eval(eval_str, op_dict, *params, **kwparams):
  """Builds the object described by ``eval_str`` without evaluating code.

  Args:
    eval_str: specification string, e.g. ``"quantized_bits(4, 0, 1)"``.
    op_dict: dict mapping allowed names to callables (classes or functions).
    *params: extra positional arguments appended after the parsed ones.
    **kwparams: extra keyword arguments; they override parsed keywords.

  Returns:
    ``fn(*args, *params, **kwargs)`` if the string had parentheses or there
    are any arguments; otherwise an instance (``fn()``) if ``fn`` is a class,
    else ``fn`` itself.  Names not in ``op_dict`` may be public
    ``keras.activations`` functions, given without arguments; the function
    itself is returned.

  Raises:
    ValueError: on parse errors, unknown names, non-callable entries or
      arguments given to a Keras activation.
  """
  call = parse_call(eval_str)
  op_dict = op_dict or {}
  shown = _shorten(eval_str)
  if call.name in op_dict:
    fn = op_dict[call.name]
    if not callable(fn):
      raise ValueError(f'Cannot build "{shown}": {call.name!r} is not callable')
    return _apply(fn, call, params, kwparams)
  activation = _keras_activation(call.name)
  if activation is None:
    raise ValueError(
        f'Cannot build "{shown}": unknown quantizer or activation '
        f"{call.name!r}; known names: {_known_names(op_dict)}; Keras "
        "activation names (e.g. 'relu', 'tanh') are also accepted")
  if call.args or call.kwargs or params or kwparams:
    raise ValueError(
        f'Cannot build "{shown}": Keras activation {call.name!r} does not '
        "take arguments here; use e.g. "
        f"{call.name!r} or '{call.name}()'")
  return activation
