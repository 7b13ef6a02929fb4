"""Tests for qkeras.safe_eval: the literal-only quantizer-string parser."""

import importlib
import operator
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qkeras.safe_eval import (Bool, GetArg, GetParams, IsBool, IsListofNums,
                              IsNone, IsNum, ListofNums, Num, ParsedCall, Str,
                              parse_call, safe_eval)

# The module, not the function of the same name that qkeras/__init__.py may
# re-export as the package attribute ``qkeras.safe_eval``.
se = importlib.import_module("qkeras.safe_eval")

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def strict_equal(a, b):
  """Equality that also requires identical types (4 != 4.0, 1 != True)."""
  if type(a) is not type(b):
    return False
  if isinstance(a, list):
    return len(a) == len(b) and all(map(strict_equal, a, b))
  return a == b


def assert_parses(text, name, args=(), kwargs=None, has_parens=True):
  """Asserts parse_call(text) gives exactly the expected call."""
  got = parse_call(text)
  assert isinstance(got, ParsedCall)
  assert got.name == name
  assert strict_equal(got.args, list(args)), got.args
  kwargs = kwargs or {}
  assert got.kwargs.keys() == kwargs.keys()
  for key, value in kwargs.items():
    assert strict_equal(got.kwargs[key], value), (key, got.kwargs[key])
  assert got.has_parens is has_parens


# --------------------------------------------------------------------------
# Examples from upstream QKeras usage.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text, name, args, kwargs, has_parens", [
    ("quantized_bits(4,0,1,alpha='auto_po2')", "quantized_bits", [4, 0, 1],
     {"alpha": "auto_po2"}, True),
    ("quantized_relu(4, use_stochastic_rounding=True)", "quantized_relu", [4],
     {"use_stochastic_rounding": True}, True),
    ("binary", "binary", [], {}, False),
    ("quantized_bits(4,0,1,alpha=auto_po2)", "quantized_bits", [4, 0, 1],
     {"alpha": "auto_po2"}, True),
    ("quantized_bits(4, 0, 1, alpha=[1. 2. 0.5])", "quantized_bits",
     [4, 0, 1], {"alpha": [1.0, 2.0, 0.5]}, True),
    ("quantized_bits(4,0,1,alpha=auto)", "quantized_bits", [4, 0, 1],
     {"alpha": "auto"}, True),
    ("  \n\tquantized_po2 ( 4 , 1 ,)\n ", "quantized_po2", [4, 1], {}, True),
    ("f()", "f", [], {}, True),
    ("f( \n )", "f", [], {}, True),
    ("_x9", "_x9", [], {}, False),
])
def test_upstream_examples(text, name, args, kwargs, has_parens):
  assert_parses(text, name, args, kwargs, has_parens)


@pytest.mark.parametrize("literal, expected", [
    ("4", 4), ("4.", 4.0), ("4.0", 4.0), ("1e3", 1000.0), ("1E3", 1000.0),
    ("-2", -2), ("+2", 2), ("+.5", 0.5), ("-.5", -0.5), (".5", 0.5),
    ("0", 0), ("-0", 0), ("0.0", 0.0), ("1e-3", 0.001), ("2.5e+2", 250.0),
    ("1.e2", 100.0), ("12345678901234567890", 12345678901234567890),
    ("True", True), ("False", False), ("None", None),
    ("inf", "inf"), ("nan", "nan"), ("none", "none"), ("true", "true"),
])
def test_scalar_literals(literal, expected):
  assert_parses(f"f({literal})", "f", [expected])
  assert_parses(f"f(k={literal})", "f", [], {"k": expected})
  assert strict_equal(GetArg(literal), expected)


@pytest.mark.parametrize("literal, expected", [
    ("'abc'", "abc"), ('"abc"', "abc"), ("''", ""), ('""', ""),
    (r"'a\'b'", "a'b"), (r'"a\"b"', 'a"b'), (r"'a\\b'", "a\\b"),
    (r"'a\"b'", 'a"b'), ("'a\"b'", 'a"b'), ('"a\'b"', "a'b"),
    ("'a(b),c=[d]'", "a(b),c=[d]"), ("'  spaced\t'", "  spaced\t"),
    ("'é ü'", "é ü"),
])
def test_quoted_strings(literal, expected):
  assert_parses(f"f({literal}, x={literal})", "f", [expected], {"x": expected})


@pytest.mark.parametrize("literal, expected", [
    ("[]", []), ("[ ]", []), ("[1, 2]", [1, 2]), ("[1 2 3]", [1, 2, 3]),
    ("[1. 2. 0.5]", [1.0, 2.0, 0.5]), ("[1,]", [1]),
    ("[ 1.  -2.   3.5]", [1.0, -2.0, 3.5]), ("[1 -2]", [1, -2]),
    ("[[1. 2.] [3. 4.]]", [[1.0, 2.0], [3.0, 4.0]]),
    ("[[1. 2.]\n [3. 4.]]", [[1.0, 2.0], [3.0, 4.0]]),
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ("[1, 2 3]", [1, 2, 3]),
    ("['a' 'b']", ["a", "b"]), ("[a, b]", ["a", "b"]),
    ("[True False None]", [True, False, None]), ("[[]]", [[]]),
    ("[1e-3\t2E2]", [0.001, 200.0]),
])
def test_lists(literal, expected):
  assert_parses(f"f({literal})", "f", [expected])
  assert_parses(f"f(alpha={literal})", "f", [], {"alpha": expected})


def test_keyword_then_positional_is_error():
  with pytest.raises(ValueError, match=r"unexpected '2' at position 7; "
                     r"positional arguments must come before keyword"):
    parse_call("f(a=1, 2)")


def test_duplicate_keyword_is_error():
  with pytest.raises(ValueError,
                     match=r"duplicate keyword argument 'a' at position 6"):
    parse_call("f(a=1,a=2)")


def test_error_message_format():
  text = "quantized_bits(4,0,1,alpha=max(1,2))"
  with pytest.raises(ValueError) as info:
    parse_call(text)
  message = str(info.value)
  assert message.startswith(f'Cannot parse quantizer "{text}": ')
  assert "unexpected '(' at position 30" in message
  assert "arguments must be literals" in message
  assert "not calls or expressions" in message


def test_error_message_truncates_long_input():
  text = "f(" + "1, " * 40 + "max(1))"
  with pytest.raises(ValueError) as info:
    parse_call(text)
  message = str(info.value)
  assert text not in message
  assert text[:60] in message and "..." in message
  assert f"unexpected '(' at position {text.index('max') + 3}" in message


def test_spec_error_is_value_error():
  assert issubclass(se.SpecError, ValueError)


# --------------------------------------------------------------------------
# Rejected forms; the message must name the offending token.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text, fragment", [
    ("f(g(1))", "unexpected '(' at position 3"),
    ("quantized_bits(4,0,1,alpha=max(1,2))", "unexpected '(' at position 30"),
    ("f(x=g())", "unexpected '(' at position 5"),
    ("a.b", "unexpected '.' at position 1"),
    ("f(a.b)", "unexpected '.' at position 3"),
    ("f(4.attr)", "unexpected 'a' at position 4"),
    ("f('s'.upper)", "unexpected '.' at position 5"),
    ("f(1+2)", "unexpected '+' at position 3"),
    ("f(1 - 2)", "unexpected '-' at position 4"),
    ("f(1*2)", "unexpected '*' at position 3"),
    ("f(2**8)", "unexpected '*' at position 3"),
    ("f(-x)", "unexpected '-' at position 2"),
    ("f(--1)", "unexpected '-' at position 2"),
    ("f(x[0])", "unexpected '[' at position 3"),
    ("f([1][0])", "unexpected '[' at position 5"),
    ("f(lambda: 1)", "unexpected ':' at position 8"),
    ("f(lambda x: x)", "unexpected 'x' at position 9"),
    ("f(1) x", "unexpected 'x' at position 5"),
    ("f(1))", "unexpected ')' at position 4"),
    ("f(1)(2)", "unexpected '(' at position 4"),
    ("f(1); import os", "unexpected ';' at position 4"),
    ("relu x", "unexpected 'x' at position 5"),
    ("relu 1", "unexpected '1' at position 5"),
    ("relu)", "unexpected ')' at position 4"),
    ("f((1)", "unexpected '(' at position 2"),
    ("f(1", "unexpected end of string at position 3; missing ')'"),
    ("f(", "unexpected end of string at position 2"),
    ("f([1)", "unexpected ')' at position 4"),
    ("f([1, 2]", "unexpected end of string at position 8; missing ')'"),
    ("f([1, 2)", "unexpected ')' at position 7"),
    ("f(1])", "unexpected ']' at position 3"),
    ("f([[1]", "unexpected end of string at position 6; missing ']'"),
    ("f('a)", "unterminated string \"'a)\" at position 2"),
    ('f("a)', "unterminated string '\"a)' at position 2"),
    ("f('a\nb')", "unexpected newline inside string at position 4"),
    (r"f('a\nb')", r"unsupported escape '\\n' at position 4"),
    ("f('a\\", r"unsupported escape '\\' at position 4"),
    ("", "unexpected end of string at position 0; expected a quantizer name"),
    ("  \n ", "unexpected end of string at position 4"),
    ("f(alpha=)", "unexpected ')' at position 8; missing value"),
    ("f(alpha=,)", "unexpected ',' at position 8; missing value"),
    ("f(alpha=", "unexpected end of string at position 8; missing value"),
    ("=3", "unexpected '=' at position 0; expected a quantizer name"),
    ("f(=3)", "unexpected '=' at position 2"),
    ("f(a==3)", "unexpected '=' at position 4"),
    ("f(1=3)", "unexpected '=' at position 3"),
    ("f('a'=3)", "unexpected '=' at position 5"),
    ("f(True=3)", "unexpected 'True' at position 2"),
    ("f(1,,2)", "unexpected ',' at position 4"),
    ("f(,)", "unexpected ',' at position 2"),
    ("f(1,,)", "unexpected ',' at position 4"),
    ("f([1,,2])", "unexpected ',' at position 5"),
    ("f([,])", "unexpected ',' at position 3"),
    ("f([1-2])", "unexpected '-' at position 4"),
    ("f([1'a'])", "unexpected \"'a'\" at position 4"),
    ("f(['a''b'])", "unexpected \"'b'\" at position 6"),
    ("f([[1][2]])", "unexpected '[' at position 6"),
    ("f([a=1])", "unexpected '=' at position 4"),
    ("f(a b)", "unexpected 'b' at position 4"),
    ("f('a' 'b')", "unexpected \"'b'\" at position 6"),
    ("f(0x1F)", "unexpected 'x' at position 3"),
    ("f(0o17)", "unexpected 'o' at position 3"),
    ("f(0b1)", "unexpected 'b' at position 3"),
    ("f(010)", "unexpected '010' at position 2"),
    ("f(1_000)", "unexpected '_' at position 3"),
    ("f(1j)", "unexpected 'j' at position 3"),
    ("f(1.5j)", "unexpected 'j' at position 5"),
    ("f(1e)", "unexpected 'e' at position 3"),
    ("f(1e+)", "unexpected 'e' at position 3"),
    ("f(1..2)", "unexpected '.' at position 4"),
    ("f(1.2.3)", "unexpected '.' at position 5"),
    ("f(.)", "unexpected '.' at position 2"),
    ("f(1e999)", "number '1e999' out of range at position 2"),
    ("f(-1e999)", "number '-1e999' out of range at position 2"),
    ("f({'a': 1})", "unexpected '{' at position 2"),
    ("f((1, 2))", "unexpected '(' at position 2"),
    ("f(*args)", "unexpected '*' at position 2"),
    ("f(**kw)", "unexpected '*' at position 2"),
    ("f(a if b else c)", "unexpected 'if' at position 4"),
    ("f(x:=1)", "unexpected ':' at position 3"),
    ("f(`x`)", "unexpected '`' at position 2"),
    ("f(é)", "unexpected 'é' at position 2"),
    ("f(\u00a01)", "unexpected '\\xa0' at position 2"),
    ("f(#)", "unexpected '#' at position 2"),
    ("__import__('os').system('ls')", "unexpected '.' at position 16"),
    ("(1)", "unexpected '(' at position 0; expected a quantizer name"),
    ("1", "unexpected '1' at position 0; expected a quantizer name"),
    ("'relu'", "unexpected \"'relu'\" at position 0"),
    ("f(1)\n#", "unexpected '#' at position 5"),
])
def test_rejected(text, fragment):
  with pytest.raises(ValueError, match=re.escape(fragment)) as info:
    parse_call(text)
  assert str(info.value).startswith("Cannot parse quantizer")


@pytest.mark.parametrize("value", [None, 4, 4.0, b"relu", ["relu"], object()])
def test_non_string_input(value):
  with pytest.raises(ValueError,
                     match=f"expected a str, got {type(value).__name__}"):
    parse_call(value)


# --------------------------------------------------------------------------
# Limits.
# --------------------------------------------------------------------------


def test_limit_spec_length():
  assert_parses("a" * se.MAX_SPEC_LENGTH, "a" * se.MAX_SPEC_LENGTH, [], {},
                False)
  with pytest.raises(ValueError, match=r"too long .*MAX_SPEC_LENGTH=100000"):
    parse_call("a" * (se.MAX_SPEC_LENGTH + 1))


def test_limit_number_length():
  ok = "1" * 100
  assert_parses(f"f({ok})", "f", [int(ok)])
  assert_parses(f"f(-{'1' * 99})", "f", [-int("1" * 99)])
  with pytest.raises(ValueError,
                     match=r"number literal too long .*MAX_NUMBER_LENGTH=100"
                     r"\) at position 2"):
    parse_call(f"f({'1' * 101})")
  with pytest.raises(ValueError, match="MAX_NUMBER_LENGTH"):
    parse_call(f"f(0.{'1' * 99})")


def test_limit_list_depth():
  assert_parses("f(" + "[" * 8 + "1" + "]" * 8 + ")", "f",
                [[[[[[[[[1]]]]]]]]])
  with pytest.raises(ValueError,
                     match=r"nested too deeply \(limit MAX_LIST_DEPTH=8\) at "
                     r"position 10"):
    parse_call("f(" + "[" * 9 + "1" + "]" * 9 + ")")
  # Deep nesting must not reach Python's recursion limit.
  with pytest.raises(ValueError, match="MAX_LIST_DEPTH"):
    parse_call("f(" + "[" * 50_000 + ")")


def test_limit_list_elements(monkeypatch):
  monkeypatch.setattr(se, "MAX_LIST_ELEMENTS", 5)
  assert_parses("f([1 2 3 4 5])", "f", [[1, 2, 3, 4, 5]])
  assert_parses("f([[1, 2], [3]])", "f", [[[1, 2], [3]]])  # 5 incl. sublists
  with pytest.raises(ValueError, match=r"too many list elements \(limit "
                     r"MAX_LIST_ELEMENTS=5\) at position 13"):
    parse_call("f([1 2 3 4 5 6])")
  with pytest.raises(ValueError, match="MAX_LIST_ELEMENTS"):
    parse_call("f([1, 2, 3], x=[4, 5, 6])")


def test_large_list_is_fast():
  n = 49_000
  got = parse_call("f([" + " ".join(["1"] * n) + "])")
  assert len(got.args[0]) == n and got.args[0][0] == 1


def test_limit_arguments():
  args = ", ".join(str(i) for i in range(32))
  kwargs = ", ".join(f"k{i}={i}" for i in range(32))
  got = parse_call(f"f({args}, {kwargs})")
  assert len(got.args) + len(got.kwargs) == 64
  with pytest.raises(ValueError, match=r"too many arguments \(limit "
                     r"MAX_ARGUMENTS=64\)"):
    parse_call(f"f({args}, {kwargs}, k99=1)")
  with pytest.raises(ValueError, match="MAX_ARGUMENTS"):
    parse_call("f(" + ",".join(["1"] * 65) + ")")


# --------------------------------------------------------------------------
# Upstream helper functions.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("(4, alpha='auto')", ([4], {"alpha": "auto"})),
    ("(4, alpha=auto)", ([4], {"alpha": "auto"})),
    ("(1e-3)", ([0.001], {})),
    ("(None)", ([None], {})),
    ("(x=[1, 2])", ([], {"x": [1, 2]})),
    ("(alpha=[1 2 3])", ([], {"alpha": [1, 2, 3]})),
    ("()", ([], {})),
    (" ( 4 , ) ", ([4], {})),
    ("", ([], {})),
])
def test_get_params(text, expected):
  args, kwargs = GetParams(text)
  assert strict_equal(args, expected[0])
  assert kwargs == expected[1]


@pytest.mark.parametrize("text, fragment", [
    ("(4) trailing", "unexpected 'trailing' at position 4"),
    ("4", "unexpected '4' at position 0; expected '('"),
    ("(4", "missing ')'"),
    ("(g(1))", "unexpected '(' at position 2"),
])
def test_get_params_errors(text, fragment):
  with pytest.raises(ValueError, match=re.escape(fragment)):
    GetParams(text)


@pytest.mark.parametrize("text, expected", [
    ("True", True), ("False", False), ("None", None), ("4", 4), ("4.5", 4.5),
    ("-1e2", -100.0), ("'x y'", "x y"), ('"auto"', "auto"), ("auto", "auto"),
    ("[1 2]", [1, 2]), (" [1, [2.]] ", [1, [2.0]]),
])
def test_get_arg(text, expected):
  assert strict_equal(GetArg(text), expected)


@pytest.mark.parametrize("text", ["", "1 2", "f(1)", "a.b", "1+2", "'x", "a=1"])
def test_get_arg_errors(text):
  with pytest.raises(ValueError, match="Cannot parse"):
    GetArg(text)


def test_num():
  assert strict_equal(Num("4"), 4)
  assert strict_equal(Num("-4"), -4)
  assert strict_equal(Num("4.0"), 4.0)
  assert strict_equal(Num("1e3"), 1000.0)
  assert Num("'abc'") == "abc"
  assert Num('"abc"') == "abc"
  assert strict_equal(Num(" 7 "), 7)
  for bad in ["abc", "True", "None", "[1]", "1_0", "0x10", "inf", "", "1 2",
              "4abc", "'abc"]:
    with pytest.raises(ValueError):
      Num(bad)


def test_str():
  assert Str("'abc'") == "abc"
  assert Str('"abc"') == "abc"
  assert Str("''") == ""
  assert Str("abc") == "abc"  # upstream returned "b"
  assert Str("auto") == "auto"  # upstream returned "ut"
  assert Str("'abc\"") == "'abc\""
  assert Str("'") == "'"
  assert Str("") == ""
  assert Str("''x''") == "'x'"  # only one pair is stripped


def test_predicates():
  assert IsNum("4") and IsNum("-4.5") and IsNum("1e3") and IsNum(".5")
  assert not any(IsNum(s) for s in ["x", "'4'", "True", "inf", "nan", "1_0",
                                    "", "4 5", "[4]"])
  assert not IsNum(4)
  assert IsBool("True") and IsBool("False")
  assert not any(IsBool(s) for s in ["true", "1", "None", " True"])
  assert IsNone("None") and not IsNone("none") and not IsNone("")
  assert Bool("True") is True and Bool("False") is False
  assert Bool("true") is False


def test_list_of_nums():
  assert strict_equal(ListofNums("[1, 2]"), [1, 2])
  assert strict_equal(ListofNums("[1 2]"), [1, 2])
  assert strict_equal(ListofNums("[1. 2. 0.5]"), [1.0, 2.0, 0.5])
  assert strict_equal(ListofNums(" [ -1.5e-3 ,4, ] "), [-0.0015, 4])
  assert ListofNums("[]") == []
  for bad in ["[1, 'a']", "[1, a]", "[True]", "[None]", "[[1]]", "1, 2",
              "[1 2", "[1] x", "(1, 2)", "", "[1+2]"]:
    with pytest.raises(ValueError):
      ListofNums(bad)
  assert IsListofNums("[1]") and IsListofNums("[1 2.5]")
  assert not IsListofNums("[]")
  assert not IsListofNums("[a b]")
  assert not IsListofNums("1")


# --------------------------------------------------------------------------
# safe_eval.
# --------------------------------------------------------------------------


class Dummy:
  """Records its constructor arguments."""

  def __init__(self, *args, **kwargs):
    self.args = args
    self.kwargs = kwargs


OPS = {"Dummy": Dummy, "add": operator.add}


def test_safe_eval_function_call():
  assert safe_eval("add(1,2)", {"add": operator.add}) == 3
  assert safe_eval("add(1)", OPS, 2) == 3
  assert safe_eval("add", OPS, 1, 2) == 3


def test_safe_eval_function_without_parens_is_returned():
  assert safe_eval("add", OPS) is operator.add


def test_safe_eval_class_without_parens_is_instantiated():
  obj = safe_eval("Dummy", OPS)
  assert isinstance(obj, Dummy) and obj.args == () and obj.kwargs == {}
  obj = safe_eval("Dummy()", OPS)
  assert isinstance(obj, Dummy) and obj.args == () and obj.kwargs == {}


def test_safe_eval_class_with_args():
  obj = safe_eval("Dummy(4, 0, 1, alpha=[1. 2.], keep_negative=True)", OPS)
  assert obj.args == (4, 0, 1)
  assert obj.kwargs == {"alpha": [1.0, 2.0], "keep_negative": True}


def test_safe_eval_params_and_kwparams():
  obj = safe_eval("Dummy(1, b=2, c=3)", OPS, "p1", "p2", b=20, d=40)
  assert obj.args == (1, "p1", "p2")
  assert obj.kwargs == {"b": 20, "c": 3, "d": 40}
  obj = safe_eval("Dummy", OPS, x=1)
  assert obj.args == () and obj.kwargs == {"x": 1}


def test_safe_eval_op_dict_takes_precedence_over_keras():
  assert isinstance(safe_eval("relu", {"relu": Dummy}), Dummy)


def test_safe_eval_parse_errors_propagate():
  with pytest.raises(ValueError,
                     match=re.escape("unexpected '(' at position 9")):
    safe_eval("add(1,max(1,2))", OPS)
  with pytest.raises(ValueError, match="expected a str"):
    safe_eval(None, OPS)


def test_safe_eval_non_callable_entry():
  with pytest.raises(ValueError, match="'x' is not callable"):
    safe_eval("x", {"x": 3})


def test_safe_eval_unknown_name_lists_known_names():
  with pytest.raises(ValueError) as info:
    safe_eval("foo(1)", OPS)
  message = str(info.value)
  assert "'foo'" in message
  assert "known names: Dummy, add;" in message
  assert "Keras activation names" in message
  many = {f"op{i:03d}": operator.add for i in range(100)}
  with pytest.raises(ValueError, match=r"op000, op001, .*\(70 more\)"):
    safe_eval("foo", many)


def test_safe_eval_keras_activation_fallback():
  keras = pytest.importorskip("keras")
  assert safe_eval("relu", OPS) is keras.activations.relu
  assert safe_eval("tanh", {}) is keras.activations.tanh
  assert safe_eval("relu()", None) is keras.activations.relu
  assert safe_eval(" sigmoid ( ) ", OPS) is keras.activations.sigmoid


@pytest.mark.parametrize("text", ["relu(3)", "relu(alpha=1)", "relu([1])"])
def test_safe_eval_keras_activation_rejects_arguments(text):
  pytest.importorskip("keras")
  with pytest.raises(ValueError, match="does not take arguments"):
    safe_eval(text, OPS)


def test_safe_eval_keras_activation_rejects_params():
  pytest.importorskip("keras")
  with pytest.raises(ValueError, match="does not take arguments"):
    safe_eval("relu", OPS, 3)
  with pytest.raises(ValueError, match="does not take arguments"):
    safe_eval("relu", OPS, alpha=3)


@pytest.mark.parametrize("name", [
    "os", "eval", "exec", "__import__", "Dense", "get", "serialize",
    "deserialize", "__builtins__", "__name__", "_private", "keras",
    "activations", "Activation", "layers", "open", "print", "ops",
])
def test_safe_eval_rejects_non_activation_names(name):
  pytest.importorskip("keras")
  with pytest.raises(ValueError,
                     match=f"unknown quantizer or activation '{name}'"):
    safe_eval(name, OPS)
  with pytest.raises(ValueError, match="unknown quantizer or activation"):
    safe_eval(f"{name}()", OPS)


def test_safe_eval_never_uses_keras_get(monkeypatch):
  keras = pytest.importorskip("keras")

  def boom(*args, **kwargs):
    raise AssertionError("keras.activations.get must not be called")

  monkeypatch.setattr(keras.activations, "get", boom)
  monkeypatch.setattr(keras.activations, "deserialize", boom)
  assert safe_eval("relu", OPS) is keras.activations.relu
  with pytest.raises(ValueError):
    safe_eval("nonexistent", OPS)


# --------------------------------------------------------------------------
# Hypothesis: arbitrary text only ever raises ValueError.
# --------------------------------------------------------------------------

_GRAMMAR_ALPHABET = list(
    "()[],=.'\"\\+-*eE0123456789_ \t\nabfxTrueFalsNn:;{}@#")


def _check_outcome(text):
  """parse_call either succeeds with literal values or raises ValueError."""
  try:
    result = parse_call(text)
  except ValueError as e:
    assert str(e).startswith("Cannot parse quantizer")
    return
  assert isinstance(result, ParsedCall)
  assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", result.name)
  assert len(result.args) + len(result.kwargs) <= se.MAX_ARGUMENTS


@FUZZ
@given(st.text())
def test_fuzz_arbitrary_text(text):
  _check_outcome(text)


@FUZZ
@given(st.text(st.sampled_from(_GRAMMAR_ALPHABET), max_size=40))
def test_fuzz_grammar_alphabet(text):
  _check_outcome(text)


@FUZZ
@given(st.text(st.sampled_from(_GRAMMAR_ALPHABET), max_size=30))
def test_fuzz_inside_call(text):
  _check_outcome("f(" + text + ")")
  _check_outcome("f(a=[" + text + "])")


# --------------------------------------------------------------------------
# Hypothesis: generated valid specs round-trip exactly.
# --------------------------------------------------------------------------

_RESERVED = ("True", "False", "None")
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}",
                            fullmatch=True).filter(lambda s: s not in _RESERVED)
spaces = st.sampled_from(["", " ", "  ", "\t", "\n", " \n "])
separating_spaces = st.sampled_from([" ", "  ", "\t", "\n", "\n "])
string_values = st.text(
    st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)),
    max_size=10)


def _quote(draw, value):
  """Renders ``value`` as a quoted string literal with a random quote."""
  quote = draw(st.sampled_from(["'", '"']))
  body = value.replace("\\", "\\\\").replace(quote, "\\" + quote)
  return quote + body + quote


def _render_float(draw, value):
  """repr() round-trips; numpy style '4.' is also valid for integral floats."""
  text = repr(value)
  if text.endswith(".0") and draw(st.booleans()):
    text = text[:-1]
  return text


@st.composite
def literals(draw, depth=0):
  """Returns (text, value) for a random literal."""
  kinds = ["int", "float", "const", "str", "ident"]
  if depth < 3:
    kinds.append("list")
  kind = draw(st.sampled_from(kinds))
  if kind == "int":
    value = draw(st.integers(-10**15, 10**15))
    plus = "+" if value >= 0 and draw(st.booleans()) else ""
    return plus + str(value), value
  if kind == "float":
    value = draw(st.floats(allow_nan=False, allow_infinity=False))
    return _render_float(draw, value), value
  if kind == "const":
    value = draw(st.sampled_from([True, False, None]))
    return str(value), value
  if kind == "str":
    value = draw(string_values)
    return _quote(draw, value), value
  if kind == "ident":
    value = draw(identifiers)
    return value, value
  items = draw(st.lists(literals(depth + 1), max_size=4))
  return _render_list(draw, [t for t, _ in items]), [v for _, v in items]


def _render_list(draw, texts):
  """Renders list items comma- or whitespace-separated."""
  if draw(st.booleans()):
    parts = [t + draw(spaces) + "," + draw(spaces) for t in texts]
    if parts and not draw(st.booleans()):
      parts[-1] = texts[-1]
  else:
    parts = [t + draw(separating_spaces) for t in texts]
  return "[" + draw(spaces) + "".join(parts) + draw(spaces) + "]"


@st.composite
def call_parts(draw):
  """Returns (name, rendered_args, args, kwargs) for a random valid call."""
  name = draw(identifiers)
  args = draw(st.lists(literals(), max_size=4))
  keys = draw(st.lists(identifiers, max_size=4, unique=True))
  kw_items = [(k, draw(literals())) for k in keys]
  rendered = [t for t, _ in args]
  rendered += [k + draw(spaces) + "=" + draw(spaces) + t
               for k, (t, _) in kw_items]
  kwargs = {k: v for k, (_, v) in kw_items}
  return name, rendered, [v for _, v in args], kwargs


@st.composite
def specs(draw):
  """Returns (text, name, args, kwargs, has_parens) for a random valid spec."""
  name, rendered, args, kwargs = draw(call_parts())
  has_parens = bool(rendered) or draw(st.booleans())
  text = draw(spaces) + name + draw(spaces)
  if has_parens:
    joined = "".join(r + draw(spaces) + "," + draw(spaces) for r in rendered)
    if rendered and draw(st.booleans()):
      joined = joined[:joined.rindex(",")]
    text += "(" + draw(spaces) + joined + draw(spaces) + ")"
  text += draw(spaces)
  return text, name, args, kwargs, has_parens


@FUZZ
@given(specs())
def test_fuzz_valid_specs_round_trip(spec):
  text, name, args, kwargs, has_parens = spec
  assert_parses(text, name, args, kwargs, has_parens)


@FUZZ
@given(literals())
def test_fuzz_get_arg_round_trip(literal):
  text, value = literal
  assert strict_equal(GetArg(text), value)


# --------------------------------------------------------------------------
# Hypothesis: injecting one forbidden fragment into a valid spec fails.
# --------------------------------------------------------------------------

_MUTATIONS = [
    ("prefix", "("), ("prefix", "["), ("prefix", "="), ("prefix", "lambda "),
    ("prefix", "*"), ("suffix", "(1)"), ("suffix", "()"), ("suffix", ".attr"),
    ("suffix", "+1"), ("suffix", " + 1"), ("suffix", "*2"), ("suffix", "[0]"),
    ("suffix", " x"), ("suffix", ")"), ("suffix", "]"), ("suffix", "="),
    ("replace", "-abc"), ("replace", "g(1)"), ("replace", "a.b"),
    ("replace", "[1, 2"), ("replace", "'open"), ("replace", "k="),
    ("end", ")"), ("end", "("), ("end", " trailing"), ("end", ".x"),
    ("end", "[0]"), ("drop_close", ""),
]


@FUZZ
@given(call_parts(), st.sampled_from(_MUTATIONS), st.integers(0, 100))
def test_fuzz_forbidden_fragment_is_rejected(parts, mutation, index):
  name, rendered, _, _ = parts
  assume(rendered)
  where, fragment = mutation
  i = index % len(rendered)
  if where == "prefix":
    rendered[i] = fragment + rendered[i]
  elif where == "suffix":
    rendered[i] += fragment
  elif where == "replace":
    rendered[i] = fragment
  text = f"{name}({', '.join(rendered)})"
  if where == "end":
    text += fragment
  elif where == "drop_close":
    text = text[:-1]
  with pytest.raises(ValueError, match="Cannot parse quantizer"):
    parse_call(text)
