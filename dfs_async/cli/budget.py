"""`--budget` across resumes: it is the whole job's, so a resumed run may spend only what the
runs before it left, and says so in the job's terms when it stops."""

from __future__ import annotations

from dfs_async.cli.job import Job
from dfs_async.money import money

__all__ = ["budget_left", "budget_reached"]


def budget_left(job: Job, request_cost: float) -> tuple[float | None, str | None]:
    """What this run may spend (the client's `max_cost`), and why it may send nothing at
    all (the runs before left less than one request can cost, `request_cost`)."""
    if job.budget is None or job.resumed is None:
        return job.budget, None
    left = job.budget - job.spent_before
    if left >= request_cost or not job.todo:
        return left, None
    return left, (
        f"budget reached: spent {money(job.spent_before)} of {money(job.budget)} (this job,"
        f" across resumed runs) and a request can cost up to {money(request_cost)}: resume"
        f" with a higher --budget, e.g. --budget {money(job.budget * 2)[1:]}"
    )


def budget_reached(budget: float, spent: float) -> str:
    """A job stopped at its `budget`, having spent `spent` in all."""
    left = max(0.0, budget - spent)
    return (
        f"budget reached: spent {money(spent)} of {money(budget)} (this job, across resumed"
        f" runs), {money(left)} left; the next request could have passed it: resume with a"
        " higher --budget to go on"
    )
