"""Tasks: rewards and correctness on hand cases, splits, demonstrations."""

import numpy as np
import pytest

pytest.importorskip("torch")

from optkit.core.errors import InvalidParameterError, UnknownNameError  # noqa: E402
from optkit.rl.tasks import TASKS, VOCAB, Problem, make_task  # noqa: E402


def enc(text, eos=True):
    return VOCAB.encode(text) + ([VOCAB.eos] if eos else [])


def prob(task, text, solution, data=()):
    return task._make(text, solution, data)


def test_vocab_round_trip_and_size():
    assert 16 <= len(VOCAB) <= 64
    assert VOCAB.decode(enc("12+x")) == "12+x"
    assert VOCAB.decode([*VOCAB.encode("ab"), VOCAB.eos, *VOCAB.encode("cd")]) == "ab"
    with pytest.raises(InvalidParameterError, match="not in the vocabulary"):
        VOCAB.encode("z")


def test_addition_hand_cases():
    t = make_task("addition", digits=3)
    p = prob(t, "123+045=", "8610", (123, 45))  # 168 -> "0168" reversed
    assert t.reward(p, enc("8610")) == 1.0 and t.is_correct(p, enc("8610"))
    assert t.reward(p, enc("8611")) == 0.0
    assert not t.is_correct(p, enc("8610", eos=False))  # never ended
    drawn = t.sample(np.random.default_rng(0), 20)
    for q in drawn:
        a, b = q.data
        assert q.solution == str(a + b).zfill(4)[::-1] and t.is_correct(q, t.demonstration(q))
    plain = make_task("addition", digits=2, reverse_answer=False, partial_credit=True)
    q = prob(plain, "99+01=", "100", (99, 1))
    assert plain.reward(q, enc("100")) == 1.0 and plain.reward(q, enc("101")) == pytest.approx(2 / 3)
    assert plain.reward(q, enc("10")) == 0.0


def test_copy_reverse_sort_parity_count():
    c, r, s, par, cnt = (make_task(n) for n in ("copy", "reverse", "sort", "parity", "count"))
    assert c.is_correct(prob(c, "Cabc=", "abc"), enc("abc"))
    assert not c.is_correct(prob(c, "Cabc=", "abc"), enc("abcd"))
    assert r.is_correct(prob(r, "Rabc=", "cba"), enc("cba"))
    assert s.reward(prob(s, "S3121=", "1123"), enc("1123")) == 1.0
    assert par.is_correct(prob(par, "P1101=", "1"), enc("1")) and not par.is_correct(prob(par, "P1101=", "1"), enc("0"))
    p = prob(cnt, "N3:ab=", "xxx", (3,))
    assert cnt.reward(p, enc("xxx")) == 1.0 and cnt.reward(p, enc("xxxx")) == 0.0
    for task in (c, r, s, par, cnt):
        for q in task.sample(np.random.default_rng(1), 10):
            assert task.reward(q, task.demonstration(q)) == 1.0


def test_countdown_rewards():
    t = make_task("countdown")
    p = prob(t, "T234:14=", "2*(3+4)", ((2, 3, 4), 14))
    assert t.reward(p, enc("2*(3+4)")) == 1.0
    assert t.reward(p, enc("(4+3)*2")) == 1.0  # another correct answer
    assert t.reward(p, enc("2+3+4")) == pytest.approx(0.1)  # well formed, wrong value
    assert t.reward(p, enc("2*(3+5)")) == 0.0  # wrong numbers
    assert t.reward(p, enc("2*(3+4")) == 0.0  # does not parse
    assert t.reward(p, enc("2*(3+4)", eos=False)) == 0.0
    assert t.answer(enc("(4+3)*2")) == t.answer(enc("2*(3+4)")) == "14"


def test_bandit():
    t = make_task("bandit", n_contexts=4, n_actions=5, seed=2)
    for c in range(4):
        p = t.test_set()[c]
        best = int(t.best[c])
        assert t.reward(p, [best]) == 1.0 and t.reward(p, [(best + 1) % 5]) == 0.0
    assert t.vocab_size == 5 and t.eos_id is None


@pytest.mark.parametrize("name", sorted(TASKS))
def test_train_and_test_splits_are_disjoint(name):
    t = make_task(name)
    if name == "bandit":
        return  # a table cannot generalize: train and test are the same contexts (documented)
    train = {p.text for p in t.sample(np.random.default_rng(0), 300, "train")}
    test = {p.text for p in t.test_set(100)}
    assert test and not (train & test)
    assert all(isinstance(p, Problem) and p.prompt[0] == VOCAB.bos for p in t.test_set(5))


def test_bad_task_arguments():
    with pytest.raises(UnknownNameError, match="Did you mean 'addition'"):
        make_task("additon")
    with pytest.raises(InvalidParameterError, match="digits"):
        make_task("addition", digits=9)
    with pytest.raises(InvalidParameterError, match="split"):
        make_task("copy").sample(np.random.default_rng(0), 1, "valid")
    with pytest.raises(InvalidParameterError):
        make_task("count", colour=3)


def test_every_task_draws_one_problem_and_the_base_is_abstract():
    import numpy as np

    from optkit.rl.tasks import ContextualBandit, Task

    with pytest.raises(TypeError):
        Task()
    bandit = ContextualBandit(8, 4, seed=0)
    text, solution, (c,) = bandit._draw(np.random.default_rng(0))
    assert text == f"c{c}" and solution == str(int(bandit.best[c]))
