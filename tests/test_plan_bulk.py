"""The bulk packer: which targets share a task, and how a bad one is isolated.

Each transition by hand, the worked examples of the module docstring, then every interleaving
by hypothesis against a server that refuses any task holding one of its bad targets.
Keys are ints (the engine's job keys); targets are API-form strings.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from dfs_async.errors import ValidationError
from dfs_async.plan import Bulk, Pack, Packer, PageNotInFlight, PageRequest, root_domain
from dfs_async.records import PageProgress
from dfs_async.targets import is_api_target


def packer_of(targets: Iterable[str], **caps: int | None) -> Packer[int]:
    packer: Packer[int] = Packer(**caps)  # type: ignore[arg-type]
    for key, target in enumerate(targets):
        packer.add(key, target)
    return packer


def drain(packer: Packer[int], bad: Callable[[str], bool] = lambda t: False) -> dict[str, int]:
    """A server that refuses a task holding a bad target and answers any other; one at a time."""
    seen = {"packs": 0, "answered": 0, "isolated": 0}
    while (pack := packer.next_pack()) is not None:
        seen["packs"] += 1
        if any(bad(t) for t in pack.targets):
            seen["isolated"] += len(packer.on_refused(pack))
        else:
            packer.on_answered(pack)
            seen["answered"] += len(pack)
    assert packer.done
    return seen


def log2_ceil(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


# -- root domains ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "root"),
    [
        ("example.com", "example.com"),
        ("blog.example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("https://www.example.com/page?x=1", "example.com"),
        ("http://shop.example.com/", "example.com"),
        ("example.co.uk", "example.co.uk"),
        ("www.shop.example.co.uk", "example.co.uk"),
        ("https://www.example.com.au/a", "example.com.au"),
        ("news.example.ne.jp", "example.ne.jp"),
        ("co.uk", "co.uk"),
        ("example.de", "example.de"),
        ("blog.example.io", "example.io"),  # `io` names are registered at the second level
        ("a.example.xn--p1ai", "example.xn--p1ai"),
    ],
)
def test_root_domain(target: str, root: str) -> None:
    assert root_domain(target) == root


# -- the kind --------------------------------------------------------------------------------


def test_the_kind_is_a_single_request_per_target() -> None:
    kind = Bulk()
    assert (kind.capacity, kind.max_roots, kind.max_limit) == (1000, None, None)
    plan = kind.plan(limit=1)
    (page,) = plan.owed()
    assert kind.task_fields(page) == {}
    item = {"target": "example.com", "rank": 7}
    assert list(plan.on_result(page, item)) == [item]
    assert plan.done and plan.failure is None
    assert kind.plan(limit=1, progress=PageProgress(answered=frozenset({0}))).done
    with pytest.raises(ValidationError, match=r"^offset: "):
        kind.plan(limit=1, offset=3)


def test_the_kind_decodes_a_bulk_result_and_answers_it() -> None:
    class Rank(msgspec.Struct):
        target: str
        rank: int | None = None

    kind = Bulk(max_roots=100)
    raw = b'{"total_count": 2, "items_count": 2, "items": [{"target": "a.com", "rank": 1},'
    raw += b' {"target": "b.com", "rank": null}]}'
    result = msgspec.json.decode(raw, type=kind.result_type(Rank))
    assert [item.target for item in result.items] == ["a.com", "b.com"]
    assert kind.answer("a.com", PageRequest(0, 1), [result], 0.02) is result


def test_the_kind_makes_packers_with_its_caps() -> None:
    packer = Bulk(capacity=5, max_roots=2).packer()
    assert (packer.capacity, packer.max_roots) == (5, 2)
    assert packer.done and packer.next_pack() is None
    assert Bulk().packer() is not Bulk().packer()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"capacity": 2.0}, "capacity"),
        ({"max_roots": 0}, "max_roots"),
    ],
)
def test_bad_caps_are_named(kwargs: dict[str, object], field: str) -> None:
    for make in (Bulk, Packer):
        with pytest.raises(ValidationError, match=f"^{field}: "):
            make(**kwargs)


# -- worked examples -------------------------------------------------------------------------


def test_ten_thousand_targets_take_ten_full_packs_in_arrival_order() -> None:
    targets = [f"site{i}.com" for i in range(10_000)]
    packer = packer_of(targets, capacity=1000)
    packs = []
    while (pack := packer.next_pack()) is not None:
        packs.append(pack)
    assert [len(p) for p in packs] == [1000] * 10
    assert [t for p in packs for t in p.targets] == targets
    assert packer.in_flight == 10 and packer.waiting == 0
    for pack in packs:
        packer.on_answered(pack)
    assert packer.done and packer.answered == 10_000


def test_2500_targets_on_300_roots_take_3_packs_of_at_most_100_roots() -> None:
    """Lower bound max(ceil(2500/1000), ceil(300/100)) = 3: met, here."""
    forms = ["https://www.{0}/p{1}", "s{1}.{0}", "https://{0}/a?q={1}", "a.s{1}.{0}"]
    roots = [f"site{j}.co.uk" if j % 2 else f"site{j}.com" for j in range(300)]
    targets = [forms[i % 4].format(roots[i % 300], i) for i in range(2500)]
    assert len(set(targets)) == 2500 and all(map(is_api_target, targets))
    packer = packer_of(targets, capacity=1000, max_roots=100)
    packs = []
    while (pack := packer.next_pack()) is not None:
        packs.append(pack)
        assert len({root_domain(t) for t in pack.targets}) <= 100
    assert [len(p) for p in packs] == [900, 800, 800]
    assert sorted(t for p in packs for t in p.targets) == sorted(targets)


def test_roots_and_count_bounds_with_lopsided_roots() -> None:
    """One huge root, then many small ones: each pack but the last is full by count or by roots.

    Greedy takes 4 packs where 3 would do (900 + 99 roots, 600 + 99, 52): within the promised
    `floor(n / capacity) + floor(r / max_roots) + 1`, not minimal.
    """
    targets = [f"p{i}.big.com" for i in range(1500)] + [f"s{i}.com" for i in range(250)]
    packer = packer_of(targets, capacity=1000, max_roots=100)
    sizes = []
    while (pack := packer.next_pack()) is not None:
        sizes.append((len(pack), len({root_domain(t) for t in pack.targets})))
    assert sizes == [(1000, 1), (599, 100), (100, 100), (51, 51)]
    n, r = len(targets), 251
    assert max(math.ceil(n / 1000), math.ceil(r / 100)) <= len(sizes) <= n // 1000 + r // 100 + 1


def test_one_bad_target_among_1000_is_isolated_in_at_most_20_more_packs() -> None:
    targets = [f"site{i}.com" for i in range(1000)]
    packer = packer_of(targets, capacity=1000)
    seen = drain(packer, bad=lambda t: t == "site637.com")
    assert seen["isolated"] == 1 and packer.bad == 1
    assert seen["answered"] == 999 == packer.answered
    assert seen["packs"] <= 1 + 2 * 10


def test_a_target_whose_root_would_exceed_max_roots_goes_first_next_time() -> None:
    packer = packer_of(["a.com", "b.com", "c.com", "x.a.com", "d.com"], max_roots=2)
    first = packer.next_pack()
    assert first is not None and first.targets == ("a.com", "x.a.com", "b.com")
    second = packer.next_pack()
    assert second is not None and second.targets == ("c.com", "d.com")


def test_the_same_target_twice_goes_in_two_packs() -> None:
    packer = packer_of(["a.com", "a.com", "b.com", "a.com"], capacity=10)
    packs = [packer.next_pack() for _ in range(3)]
    assert [p.targets for p in packs if p] == [("a.com", "b.com"), ("a.com",), ("a.com",)]
    assert [p.keys for p in packs if p] == [(0, 2), (1,), (3,)]
    assert packer.next_pack() is None


# -- each transition -------------------------------------------------------------------------


def test_a_failed_packs_targets_added_again_are_packed_as_new_entries() -> None:
    """What the engine does for a transient failure: each target's job backs off, then its
    target is added again, to be packed with whatever waits then."""
    packer = packer_of(["a.com", "b.com", "c.com"], capacity=2)
    first = packer.next_pack()
    assert first is not None and packer.on_failed(first) == [0, 1]
    packer.add_many([(3, "a.com"), (4, "b.com")])
    again = packer.next_pack()
    assert again is not None and again.targets == ("c.com", "a.com")
    packer.on_answered(again)
    last = packer.next_pack()
    assert last is not None and last.targets == ("b.com",)
    packer.on_answered(last)
    assert packer.done and (packer.answered, packer.failed) == (3, 2)


def test_a_refused_pack_is_halved_ahead_of_new_targets() -> None:
    packer = packer_of([f"s{i}.com" for i in range(7)], capacity=5)
    a = packer.next_pack()
    assert a is not None and len(a) == 5
    assert packer.on_refused(a) == []
    assert packer.waiting == 7
    order = [packer.next_pack() for _ in range(3)]
    assert [p.keys for p in order if p] == [(0, 1, 2), (3, 4), (5, 6)]


def test_a_refused_pack_of_one_names_its_key_and_is_never_owed_again() -> None:
    packer = packer_of(["bad.com"])
    pack = packer.next_pack()
    assert pack is not None
    assert packer.on_refused(pack) == [0]
    assert packer.done and packer.bad == 1 and packer.next_pack() is None


def test_a_pack_failed_for_good_ends_its_keys() -> None:
    packer = packer_of(["a.com", "b.com", "c.com"], capacity=2)
    pack = packer.next_pack()
    assert pack is not None and packer.on_failed(pack) == [0, 1]
    assert packer.failed == 2 and packer.waiting == 1


@pytest.mark.parametrize(
    "report",
    [Packer.on_answered, Packer.on_refused, Packer.on_failed],
    ids=["answered", "refused", "failed"],
)
def test_reporting_a_pack_not_in_flight_is_a_clear_error(
    report: Callable[[Packer[int], Pack[int]], object],
) -> None:
    packer = packer_of(["a.com", "b.com"])
    with pytest.raises(PageNotInFlight, match="pack 1 of 1 targets is not in flight"):
        report(packer, Pack(1, (0,), ("a.com",)))  # never handed out
    pack = packer.next_pack()
    assert pack is not None
    with pytest.raises(PageNotInFlight):
        report(packer, Pack(pack.number, pack.keys, pack.targets))  # not the one handed out
    packer.on_answered(pack)
    with pytest.raises(PageNotInFlight):
        report(packer, pack)  # already reported
    assert packer.answered == 2 and packer.done  # the bad calls changed nothing


# -- every interleaving ----------------------------------------------------------------------

BASES = ["example.com", "example.co.uk", "shop.com.au", "news.ne.jp", "blog.io", "x.de"]
# a domain, its subdomains, pages on its www host and on the host without www
FORMS = [
    "{}",
    "blog.{}",
    "a.b.{}",
    "https://www.{}/index.html",
    "https://www.{}/p",
    "http://{}/q?x=1",
]
UNIVERSE = sorted({form.format(base) for base in BASES for form in FORMS})


def test_the_universe_is_api_form() -> None:
    assert all(map(is_api_target, UNIVERSE))
    assert len({root_domain(t) for t in UNIVERSE}) == len(BASES)


def many_targets(data: st.DataObject, n_max: int) -> list[str]:
    """Distinct targets on few or many roots: subdomains, pages, shared roots."""
    roots = data.draw(st.integers(1, 40))
    return data.draw(
        st.lists(
            st.builds(
                lambda form, i: form.format(f"site{i}.co.uk" if i % 3 == 0 else f"site{i}.com"),
                st.sampled_from(FORMS),
                st.integers(0, roots - 1),
            ),
            unique=True,
            max_size=n_max,
        )
    )


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 16),
    max_roots=st.none() | st.integers(1, 6),
    data=st.data(),
)
def test_every_target_ends_once_within_the_pack_bounds(
    capacity: int, max_roots: int | None, data: st.DataObject
) -> None:
    """All targets first, then any order of answers and refusals, several in flight."""
    targets = many_targets(data, 120)
    bad = set(data.draw(st.lists(st.sampled_from(targets), max_size=4))) if targets else set()
    packer = packer_of(targets, capacity=capacity, max_roots=max_roots)
    ended: Counter[int] = Counter()
    isolated: set[int] = set()
    in_flight: list[Pack[int]] = []
    fresh = refused_many = 0
    seen: set[int] = set()
    while not packer.done:
        for _ in range(data.draw(st.integers(1, 3))):
            pack = packer.next_pack()
            if pack is None:
                break
            assert 1 <= len(pack) <= capacity
            assert len(set(pack.targets)) == len(pack)
            if max_roots is not None:
                assert len({root_domain(t) for t in pack.targets}) <= max_roots
            new = not seen & set(pack.keys)
            assert new or set(pack.keys) <= seen  # fresh, or owed again: never mixed
            fresh += new
            seen.update(pack.keys)
            in_flight.append(pack)
        pack = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
        if bad & set(pack.targets):
            refused_many += len(pack) > 1
            isolated.update(packer.on_refused(pack))
            ended.update(pack.keys if len(pack) == 1 else ())
        else:
            packer.on_answered(pack)
            ended.update(pack.keys)
    keys = range(len(targets))
    assert ended == Counter(keys)  # every one exactly once
    assert isolated == {k for k in keys if targets[k] in bad}
    assert packer.answered == len(targets) - len(bad) and packer.bad == len(bad)
    n, r = len(targets), len({root_domain(t) for t in targets})
    if max_roots is None:
        assert fresh == math.ceil(n / capacity)
    else:
        assert max(math.ceil(n / capacity), math.ceil(r / max_roots)) <= fresh
        assert fresh <= n // capacity + r // max_roots + 1
    assert refused_many <= len(bad) * log2_ceil(capacity)
    assert packer.packs == fresh + 2 * refused_many


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 8),
    max_roots=st.none() | st.integers(1, 4),
    chunks=st.lists(st.lists(st.sampled_from(UNIVERSE), max_size=12), max_size=8),
    takes=st.lists(st.booleans(), max_size=8),
)
def test_add_many_packs_as_add_does_one_by_one(
    capacity: int, max_roots: int | None, chunks: list[list[str]], takes: list[bool]
) -> None:
    """The same entries, added in chunks or one at a time, make the same packs."""
    each: Packer[int] = Packer(capacity=capacity, max_roots=max_roots)
    many: Packer[int] = Packer(capacity=capacity, max_roots=max_roots)
    key = 0
    for i, chunk in enumerate(chunks):
        entries = [(key + j, name) for j, name in enumerate(chunk)]
        key += len(chunk)
        for k, name in entries:
            each.add(k, name)
        many.add_many(iter(entries))
        assert each.waiting == many.waiting
        if i < len(takes) and takes[i]:  # a pack taken between two chunks
            a, b = each.next_pack(), many.next_pack()
            assert (a and (a.keys, a.targets)) == (b and (b.keys, b.targets))
    while (a := each.next_pack()) is not None:
        b = many.next_pack()
        assert b is not None and (a.keys, a.targets) == (b.keys, b.targets)
        each.on_answered(a)
        many.on_answered(b)
    assert many.next_pack() is None


class PackingMachine(RuleBasedStateMachine):
    """An engine doing anything the packer allows, targets streaming in between packs.

    The server refuses any task that holds a bad target (some targets of a small universe,
    so duplicates, shared roots, subdomains and pages abound), answers the others or fails
    them transiently (their targets are added again, as new entries, as the engine's jobs
    do after their backoff); with `faults`, a task may also fail for good.
    """

    @initialize(
        capacity=st.integers(1, 8),
        max_roots=st.none() | st.integers(1, 4),
        bad=st.sets(st.sampled_from(UNIVERSE), max_size=3),
        faults=st.booleans(),
    )
    def start(self, capacity: int, max_roots: int | None, bad: set[str], faults: bool) -> None:
        self.capacity, self.max_roots, self.bad, self.faults = capacity, max_roots, bad, faults
        self.packer: Packer[int] = Packer(capacity=capacity, max_roots=max_roots)
        self.targets: list[str] = []  # by key
        self.in_flight: list[Pack[int]] = []
        self.seen: set[int] = set()  # keys ever handed out
        self.ended: dict[int, str] = {}  # key -> how it ended
        self.fresh = self.refused_many = self.resolved = 0

    @rule(name=st.sampled_from(UNIVERSE), times=st.integers(1, 4))
    def add(self, name: str, times: int) -> None:
        for _ in range(times):
            self.packer.add(len(self.targets), name)
            self.targets.append(name)

    @rule(names=st.lists(st.sampled_from(UNIVERSE), max_size=6))
    def add_many(self, names: list[str]) -> None:
        first = len(self.targets)
        self.packer.add_many([(first + i, name) for i, name in enumerate(names)])
        self.targets.extend(names)

    @rule()
    def take(self) -> None:
        pack = self.packer.next_pack()
        if pack is None:
            assert self.packer.waiting == 0
            return
        assert 1 <= len(pack) <= self.capacity
        if self.max_roots is not None:
            assert len({root_domain(t) for t in pack.targets}) <= self.max_roots
        assert len(set(pack.targets)) == len(pack)
        assert all(self.targets[k] == t for k, t in zip(pack.keys, pack.targets, strict=True))
        keys = set(pack.keys)
        assert not keys & {k for p in self.in_flight for k in p.keys}, "a key in two packs"
        assert not keys & self.ended.keys(), "an ended key handed out again"
        new = not keys & self.seen
        assert new or keys <= self.seen
        self.fresh += new
        self.seen |= keys
        self.in_flight.append(pack)

    def pick(self, data: st.DataObject) -> Pack[int]:
        return self.in_flight.pop(data.draw(st.integers(0, len(self.in_flight) - 1)))

    def serve(self, pack: Pack[int]) -> None:
        """The server's answer: refused if the task holds a bad target, else answered."""
        self.resolved += 1
        if self.bad & set(pack.targets):
            self.refused_many += len(pack) > 1
            named = self.packer.on_refused(pack)
            if len(pack) == 1:
                assert named == list(pack.keys)
                self.end(pack.keys, "bad")
            else:
                assert named == []
        else:
            self.packer.on_answered(pack)
            self.end(pack.keys, "answered")

    def end(self, keys: Iterable[int], how: str) -> None:
        for key in keys:
            assert key not in self.ended, f"key {key} ended twice"
            self.ended[key] = how

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def answer(self, data: st.DataObject) -> None:
        self.serve(self.pick(data))

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        pack = self.pick(data)
        self.resolved += 1
        assert self.packer.on_failed(pack) == list(pack.keys)
        self.end(pack.keys, "retried")
        self.add_many(list(pack.targets))

    @precondition(lambda self: self.in_flight and self.faults)
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        pack = self.pick(data)
        self.resolved += 1
        assert self.packer.on_failed(pack) == list(pack.keys)
        self.end(pack.keys, "failed")

    @rule(number=st.integers(0, 50), key=st.integers(0, 50), kind=st.integers(0, 3))
    def report_a_pack_not_in_flight(self, number: int, key: int, kind: int) -> None:
        bogus = Pack(number, (key,), ("example.com",))
        report = [Packer.on_answered, Packer.on_refused, Packer.on_failed]
        with pytest.raises(PageNotInFlight):
            report[kind % len(report)](self.packer, bogus)

    @invariant()
    def ledger_agrees(self) -> None:
        packer = self.packer
        how = Counter(self.ended.values())
        assert (packer.answered, packer.bad, packer.failed) == (
            how["answered"],
            how["bad"],
            how["failed"] + how["retried"],
        )
        assert packer.in_flight == len(self.in_flight)
        in_flight = sum(map(len, self.in_flight))
        assert packer.waiting + in_flight + len(self.ended) == len(self.targets)
        assert packer.done == (packer.waiting == 0 and not self.in_flight)
        assert self.refused_many <= self.bad_entries() * log2_ceil(self.capacity)

    def bad_entries(self) -> int:
        return sum(t in self.bad for t in self.targets)

    def teardown(self) -> None:
        """Drain with a server that no longer fails transiently: it ends, each key once."""
        if not hasattr(self, "packer"):
            return
        while not self.packer.done:
            self.take()
            while self.in_flight:
                self.serve(self.in_flight.pop())
        assert self.packer.done
        assert sorted(self.ended) == list(range(len(self.targets)))
        for key, how in self.ended.items():
            if how not in ("failed", "retried"):
                assert how == ("bad" if self.targets[key] in self.bad else "answered")
        assert self.packer.packs == self.resolved == self.fresh + 2 * self.refused_many


PackingMachine.TestCase.settings = settings(
    max_examples=250,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_packing_machine = PackingMachine.TestCase
