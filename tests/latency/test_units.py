import argparse

import pytest

from nas.latency.units import format_ms, latency_arg, parse_latency

GOOD = [
    ("20ms", 20.0),
    ("20 ms", 20.0),
    (" 20ms\t", 20.0),
    ("20.5ms", 20.5),
    ("0.02s", 20.0),
    ("20000us", 20.0),
    ("20000\u00b5s", 20.0),  # micro sign
    ("20000\u03bcs", 20.0),  # greek mu
    ("2e1ms", 20.0),
    ("2E1ms", 20.0),
    ("20MS", 20.0),
    ("20Ms", 20.0),
    ("0.02S", 20.0),
    ("20000US", 20.0),
    (".5ms", 0.5),
    ("0.0035s", 3.5),  # exact: decimal arithmetic, not 0.0035 * 1000
    ("1.5e-3s", 1.5),
    ("850us", 0.85),
    ("1s", 1000.0),
]

BAD = [
    "20",  # no unit
    "20.5",
    "-5ms",
    "0ms",
    "0.0s",
    "fast",
    "ms",
    "20 m s",
    "20msec",
    "20 sec",
    "nan ms",
    "inf ms",
    "20ms30",
    "",
    "   ",
    "20 hz",
    "20 ms s",
    "+20ms",
    "1_000us",
    "\uff12\uff10ms",  # full-width digits
    "1e400ms",  # overflows float
    "1e-400ms",  # underflows to 0
    "20\nms",
    "20ns",
]


@pytest.mark.parametrize("text,expected", GOOD)
def test_parse_good(text, expected):
    assert parse_latency(text) == expected


@pytest.mark.parametrize("text", BAD)
def test_parse_bad_one_line_quoting_input(text):
    with pytest.raises(ValueError) as ei:
        parse_latency(text)
    msg = str(ei.value)
    assert "\n" not in msg and "\r" not in msg
    assert repr(text) in msg
    assert msg.startswith("invalid latency ")


def test_parse_message_example():
    with pytest.raises(ValueError, match=r"^invalid latency '20': give a number with a unit: 20ms, 0\.02s or 20000us$"):
        parse_latency("20")


def test_parse_long_input_message_truncated_single_line():
    with pytest.raises(ValueError) as ei:
        parse_latency("x" * 500 + "\n" + "y" * 500)
    msg = str(ei.value)
    assert "\n" not in msg and len(msg) < 200


def test_parse_non_string():
    with pytest.raises(TypeError):
        parse_latency(20.0)


def test_latency_arg_with_argparse(capsys):
    p = argparse.ArgumentParser(prog="x")
    p.add_argument("--budget", type=latency_arg)
    assert p.parse_args(["--budget", "0.02s"]).budget == 20.0
    with pytest.raises(argparse.ArgumentTypeError) as ei:
        latency_arg("20")
    assert "\n" not in str(ei.value) and "'20'" in str(ei.value)
    with pytest.raises(SystemExit):
        p.parse_args(["--budget", "20"])
    err = capsys.readouterr().err
    assert "invalid latency '20': give a number with a unit" in err


@pytest.mark.parametrize(
    "ms,text",
    [
        (20.0, "20.0 ms"),
        (0.85, "850 µs"),
        (1.5, "1.50 ms"),
        (123.456, "123 ms"),
        (1234.0, "1.23 s"),
        (999.96, "1.00 s"),
        (0.0123, "12.3 µs"),
        (0.0005, "0.500 µs"),
        (0.0, "0 ms"),
    ],
)
def test_format_ms(ms, text):
    assert format_ms(ms) == text


@pytest.mark.parametrize("ms", [20.0, 0.85, 1234.0, 0.0123, 0.0005, 7.77, 1e-9, 1e7])
def test_format_ms_output_parses_back(ms):
    assert parse_latency(format_ms(ms)) == pytest.approx(ms, rel=5e-3)
