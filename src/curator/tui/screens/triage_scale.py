"""Triage at scale, for the triage screen: the filter bar (`=`), bulk decisions over what it shows (`*`,
one undo takes a bulk back, a bulk cut short is named and resumed with `R`), the queue's order (`o`)
and the predictor, retrained in a worker as decisions arrive."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from textual import work
from textual.message import Message

from curator.display.cell import fit
from curator.display.inert import visible
from curator.services import bulk, predict, triage
from curator.services.triage import Filters
from curator.store.bulks import Bulk
from curator.tui.messages import DataChanged, Reading
from curator.tui.widgets.inert import tell

ORDER_CYCLE = list(triage.ORDERS)


class BulkPlanned(Message):
    def __init__(self, plan: bulk.BulkPlan) -> None:
        super().__init__()
        self.plan = plan


class BulkProgress(Message):
    def __init__(self, bulk_id: int, done: int, total: int, undoing: bool = False) -> None:
        super().__init__()
        self.bulk_id, self.done, self.total, self.undoing = bulk_id, done, total, undoing


class BulkFinished(Message):
    def __init__(self, bulk: Bulk | None, error: str | None = None) -> None:
        super().__init__()
        self.bulk, self.error = bulk, error


class UnfinishedBulks(Reading):
    def __init__(self, bulks: list[Bulk]) -> None:
        super().__init__()
        self.bulks = bulks


class PredictorRefreshed(Message):
    def __init__(self, refresh: predict.Refresh | None, error: str | None = None) -> None:
        super().__init__()
        self.refresh, self.error = refresh, error


class TriageAtScale:
    """The triage screen's filter bar, bulk decisions, order and predictor (mixed into TriageScreen)."""

    order = "review"
    unfinished: list[Bulk] = []
    bulk_running: str | None = None  # "bulk #3: 4,500 of 10,000" while a bulk runs
    decided_since_training = 0
    predictor_line = ""

    # -- the filter bar ---------------------------------------------------------------------------

    def filter_bar(self) -> str:
        """What the bar under the status line says, or "" when there is nothing to say."""
        if self.bulk_running:
            return f"⏳ {self.bulk_running} (the queue reloads when it is done)"
        if self.unfinished:
            b = self.unfinished[0]
            return (f"⚠ bulk #{b.id} {b.action} stopped at {b.done:,} of {b.planned:,}: R resumes it, "
                    f"{self.undo_key} undoes it")
        parts = []
        if text := self.filters.text():
            # (an LRM closes the filter: a Persian search value would otherwise pull the count after it to
            # its left, by the bidi rules: "search=2 · کیک shown")
            parts.append(f"filter {text}\u200e")
        if self.order != "review":
            parts.append(f"order: {triage.ORDERS[self.order]}")
        if not parts:
            return ""
        return " · ".join(parts + [f"{len(self.ids):,} shown", "* decide all", "= edit", "c clear"])

    def draw_filter_bar(self) -> None:
        text = self.filter_bar()
        bar = self.query_one("#filterbar")
        bar.display = bool(text)
        bar.set_class(text.startswith(("⚠", "⏳")), "warning")
        width = self._width("#status")  # the bar may not be laid out yet (hidden until now): as wide as the status
        self._set("#filterbar", fit(text, width, self.app.bidi_mode) if text else "")

    def action_filter(self) -> None:
        from curator.tui.screens.prompt import PromptScreen

        def refused(text: str) -> str | None:
            try:
                Filters.parse(text)
            except triage.TriageError as exc:
                return str(exc)
            return None

        def done(text: str | None) -> None:
            if text is None:
                return
            self.filters = Filters.parse(text)
            self.load_queue()

        keys = " ".join(triage.FILTER_KEYS)
        self.app.push_screen(PromptScreen(f"Filter: KEY=VALUE … (keys: {keys}; empty clears)",
                                          self.filters.text(), check=refused), done)

    def action_cycle_order(self) -> None:
        self.order = ORDER_CYCLE[(ORDER_CYCLE.index(self.order) + 1) % len(ORDER_CYCLE)]
        if self.order != "review" and not self.blind and not self.predictor_line:
            self.say("no estimates yet (50 decisions, 5 of each kind, first): the review order until then")
        self.load_queue(keep_position=self.card.example.id if self.card else None)

    # -- bulk decisions ---------------------------------------------------------------------------

    def action_bulk(self) -> None:
        """Accept, reject (with a reason) or flag every candidate shown, after a confirmation that names
        the count and what it skips."""
        if self.bulk_running:
            self.tell("a bulk is running: wait for it")
            return
        if not self.ids:
            self.tell("nothing shown to decide")
            return
        from curator.tui.screens.prompt import ChooseScreen, PromptScreen

        items = [f"accept all {len(self.ids):,} shown", f"reject all {len(self.ids):,} shown (with a reason)",
                 f"flag all {len(self.ids):,} shown"]

        def chosen(item: str | None) -> None:
            if item is None:
                return
            action = item.split()[0]
            if action != "reject":
                self.plan_bulk(action, None)
                return

            def reasoned(text: str | None) -> None:
                if text is None:
                    return
                try:
                    self.plan_bulk("reject", triage.reason_code(text) if text.strip() else None)
                except triage.TriageError as exc:
                    tell(self, str(exc), severity="error")

            known = ", ".join(self.reasons[:4]) if self.reasons else "off_topic"
            self.app.push_screen(PromptScreen(f"Reject all shown: a reason code (configured: {known}…)",
                                              self.reasons[0] if self.reasons else ""), reasoned)

        where = self.filters.text() or "no filter"
        self.app.push_screen(ChooseScreen(f"Decide all {len(self.ids):,} shown ({triage.QUEUES[self.queue]} · "
                                          f"{where})", items), chosen)

    @work(thread=True, exclusive=True, group="triage-bulk", exit_on_error=False)
    def plan_bulk(self, action: str, reason: str | None) -> None:
        try:
            with self.app.project.reader() as store:
                plan = bulk.plan(store, action, self.filters, queue=self.queue, reason=reason)
        except Exception as exc:  # shown, never fatal
            self.post_message(BulkFinished(None, f"could not plan the bulk: {exc}"))
            return
        self.post_message(BulkPlanned(plan))

    def on_bulk_planned(self, message: BulkPlanned) -> None:
        plan = message.plan
        if not plan.ids:
            skips = "; ".join(f"{n:,} {why}" for why, n in plan.skipped.items())
            self.tell(f"nothing to {plan.action}" + (f": {skips}" if skips else ""))
            return
        from curator.tui.screens.prompt import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.bulk_running = f"bulk {plan.action}: starting"
                self.draw_filter_bar()
                self.run_bulk(plan)

        self.app.push_screen(ConfirmScreen(f"{plan.question()} It commits in parts; one undo "
                                           f"({self.undo_key}) takes the whole bulk back."), answered)

    @work(thread=True, exclusive=True, group="triage-bulk", exit_on_error=False)
    def run_bulk(self, plan: bulk.BulkPlan | None, *, resume_id: int | None = None,
                 undo_id: int | None = None) -> None:
        try:
            with self.app.project.writer() as store:
                if undo_id is not None:
                    done = bulk.undo(store, undo_id, progress=lambda d, t: self.post_message(
                        BulkProgress(undo_id, d, t, undoing=True)))
                else:
                    bulk_id = resume_id if resume_id is not None else bulk.start(store, plan)
                    done = bulk.resume(store, bulk_id,
                                       progress=lambda d, t: self.post_message(BulkProgress(bulk_id, d, t)))
                unfinished = bulk.unfinished(store)
        except Exception as exc:  # shown, never fatal; what was committed stays (and is named)
            self.post_message(BulkFinished(None, f"the bulk stopped: {exc}"))
            return
        self.post_message(UnfinishedBulks(unfinished))
        self.post_message(BulkFinished(done))

    def on_bulk_progress(self, message: BulkProgress) -> None:
        verb = "undoing" if message.undoing else "deciding"
        self.bulk_running = f"bulk #{message.bulk_id} {verb}: {message.done:,} of {message.total:,}"
        self.draw_filter_bar()

    def on_bulk_finished(self, message: BulkFinished) -> None:
        self.bulk_running = None
        if message.error:
            self.app.show_error(visible(message.error))
            self.check_unfinished()
        else:
            b = message.bulk
            done = {"accept": "accepted", "reject": "rejected", "flag": "flagged"}[b.action]
            what = f"bulk #{b.id}: {done} {b.done:,}" + (f" ({b.reason})" if b.reason else "")
            self.say(f"{what} · undone" if b.undone_at else f"{what} · undo: {self.undo_key}")
            if b.action in ("accept", "reject"):
                self.decision_counted(b.done)
                self.app.recount_coverage()
        self.load_queue(keep_position=None)
        for screen in self.app.screen_stack:
            if screen is not self:
                screen.post_message(DataChanged())

    def action_resume_bulk(self) -> None:
        if self.bulk_running:  # (a second resume would cancel the running one's worker: one at a time)
            self.tell("a bulk is running: wait for it")
            return
        if not self.unfinished:
            self.tell("no bulk was cut short")
            return
        b = self.unfinished[0]
        self.bulk_running = f"bulk #{b.id}: resuming"
        self.draw_filter_bar()
        self.run_bulk(None, resume_id=b.id)

    def undo_bulk(self, bulk_id: int) -> None:
        self.bulk_running = f"bulk #{bulk_id}: undoing"
        self.draw_filter_bar()
        self.run_bulk(None, undo_id=bulk_id)

    @work(thread=True, exclusive=True, group="triage-unfinished", exit_on_error=False)
    def check_unfinished(self) -> None:
        try:
            with self.app.project.reader() as store:
                found = bulk.unfinished(store)
        except Exception:  # the queue's own load reports a store that cannot be read
            return
        self.post_message(UnfinishedBulks(found))

    def on_unfinished_bulks(self, message: UnfinishedBulks) -> None:
        if message.stale:
            return
        self.unfinished = message.bulks
        self.draw_filter_bar()

    # -- the predictor ----------------------------------------------------------------------------

    training = False  # a retrain is running (one at a time: the next waits for it)
    trainings = 0  # retrains finished since the screen opened

    def decision_counted(self, count: int = 1) -> None:
        """Accepts or rejects: retrain once `RETRAIN_EVERY` have arrived (after the running one, if any)."""
        self.decided_since_training += count
        if self.decided_since_training >= predict.RETRAIN_EVERY and not self.training:
            self.retrain()

    def retrain(self, *, only_if_stale: bool = False) -> None:
        settings = getattr(self.app, "settings", None)
        if settings is not None and not settings.triage.predictor:  # [triage] predictor = false
            return
        self.training = True
        self.decided_since_training = 0
        self._retrain(only_if_stale)

    @work(thread=True, group="triage-predictor", exit_on_error=False)
    def _retrain(self, only_if_stale: bool) -> None:
        """`curator triage predict` in a process of its own, at a lower priority and on one thread: the
        training's Python work never holds this process's interpreter (a thread would, between keys)."""
        command = [sys.executable, "-m", "curator", "triage", "predict", "--json", "--background",
                   "--db", str(self.app.project.db_path)] + (["--if-stale"] if only_if_stale else [])
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
            if done.returncode != 0:
                raise RuntimeError((done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1])
            refresh = predict.Refresh(**json.loads(done.stdout.strip().splitlines()[-1]))
        except Exception as exc:  # shown, never fatal
            self.post_message(PredictorRefreshed(None, f"the predictor could not learn: {exc}"))
            return
        self.post_message(PredictorRefreshed(refresh))

    def on_predictor_refreshed(self, message: PredictorRefreshed) -> None:
        self.training = False
        self.trainings += 1
        if self.decided_since_training >= predict.RETRAIN_EVERY:
            self.retrain()
        if message.error:
            self.app.show_error(visible(message.error))
            return
        refresh = message.refresh
        self.predictor_line = refresh.summary() if refresh and refresh.name else ""
        if self.card is not None and refresh and refresh.name:
            self.card.predicted = self.store.predictions([self.card.example.id]).get(self.card.example.id)
            self.draw()
        if self.order != "review" and refresh and refresh.name:
            self.load_queue(keep_position=self.card.example.id if self.card else None)

    def prediction_line(self) -> str | None:
        """`predicted: reject 0.91` for the card, or None (none yet, or blind mode before a decision)."""
        card = self.card
        if card is None or card.predicted is None or (self.blind and not card.decided):
            return None
        return predict.label(card.predicted)
