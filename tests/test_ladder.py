"""The bench's ladder (bench/fanout.py) on made-up steps: what it measures and what it reports."""

from bench.fanout import ladder


def row(rate, p99, server_cpu=30.0, client_cpu=50.0):
    return {
        "config": "fake",
        "clients": 1000,
        "offered_per_s": rate,
        "offered_copies_per_s": rate * 1000,
        "delivered_copies_per_s": rate * 1000,
        "dropped": 0,
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "server_cpu_percent": server_cpu,
        "client_cpu_percent": client_cpu,
    }


def kept_up(step):
    return step["p99_ms"] <= 250


def test_the_walk_goes_on_past_one_failure_and_repeats_until_two_runs_agree():
    # 100 is marginal (fails, passes, fails): the old ladder halved at the first failure
    # and never tried higher; this one walks the whole series until two failures in a row.
    script = {25: [200, 200], 50: [210, 220], 100: [260, 240, 255], 200: [230, 230], 400: [300, 300], 800: [400, 400]}
    script.update({75.0: [240, 245], 87.5: [251, 260]})  # the bisection between 50 and 100
    calls = []

    def measure_at(rate):
        calls.append(rate)
        return row(rate, script[rate][calls.count(rate) - 1])

    logged = []
    best, rows = ladder(measure_at, kept_up, start_rate=25, max_rate=3200, bisections=2, log=logged.append)
    assert calls[:13] == [25, 25, 50, 50, 100, 100, 100, 200, 200, 400, 400, 800, 800]
    assert [r["offered_per_s"] for r in rows][:6] == [25, 50, 100, 200, 400, 800]
    assert [r["kept_up"] for r in rows][:6] == [True, True, False, True, False, False]
    assert rows[2]["p99_ms"] == 260 and len(rows[2]["runs"]) == 3  # the median of the agreeing runs
    # the headline: the highest rate with every step below it passing (not 200: a pass above a
    # failure may be luck), then bisected toward the failure
    assert calls[13:] == [75.0, 75.0, 87.5, 87.5]
    assert best["offered_per_s"] == 75.0
    assert all(line.count("run ") >= 2 for line in logged)  # every run of every step is reported


def test_a_client_bound_step_says_so():
    logged = []
    ladder(lambda rate: row(rate, 100, server_cpu=20, client_cpu=98), kept_up, 25, 25, 0, logged.append)
    assert "CLIENT-BOUND" in logged[0]
    logged.clear()
    ladder(lambda rate: row(rate, 100, server_cpu=95, client_cpu=98), kept_up, 25, 25, 0, logged.append)
    assert "CLIENT-BOUND" not in logged[0]


def test_a_failing_first_rate_tries_lower_ones():
    best, rows = ladder(lambda rate: row(rate, 300 if rate >= 25 else 100), kept_up, 25, 100, 0, lambda _: None)
    assert best["offered_per_s"] == 12.5
