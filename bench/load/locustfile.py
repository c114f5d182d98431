"""Locust users of the major-event load scenario (run by bench/load/run.py).

- ReportingPoint (200): a direct reporting point's system. Files a first report (首报) over
  `POST /api/reports` with its unit's bearer token and an Idempotency-Key, then follow-ups
  (续报) on its event, now and then a first report of a new event or of one another point
  already reported (the matcher joins it or queues it for review); one action every
  10–30 s.
- DutyOfficer (20): a signed-in session (a real `/login/` with its CSRF token) on the duty
  desk. Loads `/desk/`, then does what the open page does: polls the feed every ~2 s
  (`/desk/feed/?after=`, the desk's polling mode; its live mode, Server-Sent Events, reads
  the database once a second per open desk, a comparable cost) and re-fetches each panel on
  its own timer (the hx-trigger intervals of desk/duty_desk.html); about every 30 s it opens
  the event list and an event page, as an officer following the event would.
- OpinionStream (5): a monitoring vendor's feeder, `POST /api/opinion/posts`, JSON lines,
  100 posts a call, one call a second each: 500 posts/s in all.

Every response is checked (status, and a cheap look at the body); a wrong one is a locust
failure. Each request's latency is also kept raw and written as JSON to LOAD_RESULTS when
locust quits, so run.py computes exact percentiles (locust's own round to 2 digits).

Input: LOAD_DATA, the JSON that bench/load/scenario.py:setup_org returned.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone

from locust import HttpUser, between, constant_pacing, events, task

BEIJING = timezone(timedelta(hours=8))
REPORT_PACE = (10.0, 30.0)
OFFICER_PACE = (1.5, 2.5)
POSTS_PER_CALL = 100
# Feeders of 100 posts a second each: 5 = 500 posts/s (run.py --posts-per-second).
OPINION_USERS = int(os.environ.get("LOAD_OPINION_FEEDERS", "5"))
OPINION_CALLS_PER_SECOND_EACH = 1.0
# Panel → seconds between refreshes (duty_desk.html's hx-trigger "every Ns").
PANELS = {
    "routes": 10,
    "obligations": 15,
    "events": 15,
    "dead-letters": 15,
    "workers": 15,
    "inbox": 30,
    "drills": 30,
    "assess": 60,
    "duty": 60,
}
BROWSE_SECONDS = 30.0

CATEGORIES = {
    "hazchem": ("危化品泄漏事故", "爆炸事故"),
    "work_safety": ("机械伤害事故", "高处坠落事故"),
    "road_traffic": ("交通事故", "客车侧翻事故"),
    "fire": ("火灾", "居民楼火灾"),
    "construction": ("坍塌事故", "脚手架坍塌事故"),
    "flood": ("山洪灾害", "洪涝灾害"),
    "geological": ("山体滑坡", "泥石流"),
    "food_safety": ("疑似食物中毒事件", "食物中毒"),
}
MEASURES = [
    "相关部门已到场处置，周边群众已疏散",
    "伤员已送医救治，现场已封控",
    "抢险队伍正在搜救被困人员",
]
FOLLOWUPS = [
    "伤员救治和现场清理工作仍在进行，有关情况将及时续报。",
    "经进一步核实，现场搜救已结束，伤亡人数有所变化。",
    "事故原因正在调查中，善后工作有序开展。",
    "周边道路已恢复通行，转移群众正在陆续返回。",
]
CHATTER = [
    "现场有大量浓烟，群众正在疏散",
    "有关部门已经赶赴现场处置",
    "伤亡情况正在核实中",
    "希望大家都平安",
    "听说附近的路已经封了",
    "官方还没有通报",
    "刚路过，消防车一直在往那边开",
]
PLATFORMS = ["weibo", "wechat", "news", "forum", "video", "app"]

_data: dict | None = None
_point_numbers = itertools.count()
_officer_numbers = itertools.count()
_stream_numbers = itertools.count()
# Recent first reports of all points: (category, noun, place, occurred_at, division_code).
_recent_events: list[tuple] = []
# name → latencies in ms of good responses, and error counts and samples, for run.py.
_latencies: dict[str, list[float]] = defaultdict(list)
_errors: dict[str, int] = defaultdict(int)
_samples: dict[str, list[str]] = defaultdict(list)


def data() -> dict:
    global _data
    if _data is None:
        with open(os.environ["LOAD_DATA"], encoding="utf-8") as handle:
            _data = json.load(handle)
    return _data


@events.request.add_listener
def _keep(
    name: str, response_time: float, exception: BaseException | None, start_time: float, **_kw
) -> None:
    if exception is None:
        _latencies[name].append((start_time, response_time))
    else:
        _errors[name] += 1
        if len(_samples[name]) < 3:
            _samples[name].append(str(exception)[:200])


@events.quitting.add_listener
def _dump(environment, **_kw) -> None:
    path = os.environ.get("LOAD_RESULTS")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"latencies": _latencies, "errors": _errors, "samples": _samples}, handle)


def _check(response, expect: int, needle: str | None = None) -> bool:
    """Mark a wrong answer as a failure (the response must be opened with catch_response)."""
    if response.status_code != expect:
        response.failure(f"HTTP {response.status_code}: {response.text[:120]!r}")
        return False
    if needle is not None and needle not in response.text:
        response.failure(f"body without {needle!r}: {response.text[:120]!r}")
        return False
    response.success()
    return True


class ReportingPoint(HttpUser):
    fixed_count = int(os.environ.get("LOAD_POINTS", "200"))
    wait_time = between(*REPORT_PACE)

    def on_start(self) -> None:
        points = data()["points"]
        self.point = points[next(_point_numbers) % len(points)]
        self.headers = {
            "Authorization": f"Bearer {self.point['token']}",
            "Content-Type": "application/json",
        }
        self.rng = random.Random()
        self.events: list[int] = []
        self.actions = 0
        # Spread the first reports: 200 points do not all file in the same second.
        time.sleep(self.rng.uniform(0, REPORT_PACE[0]))

    @task
    def act(self) -> None:
        self.actions += 1
        if not self.events or self.rng.random() < 0.12:
            self.file_first()
        else:
            self.file_followup()

    def _post(self, body: dict, name: str) -> dict | None:
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        with self.client.post(
            "/api/reports",
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
            name=name,
            catch_response=True,
        ) as response:
            if _check(response, 201, '"event_id"'):
                return response.json()
        return None

    def file_first(self) -> None:
        rng = self.rng
        if _recent_events and rng.random() < 0.15:
            # Another point's view of an event already reported: same place, other words.
            category, noun, place, occurred, code = rng.choice(_recent_events[-100:])
            # Other minutes, but never in the future (the API refuses that, rightly).
            occurred += timedelta(minutes=rng.randint(-20, 20))
            occurred = min(occurred, datetime.now(UTC) - timedelta(minutes=1))
            title = f"{place}发生{noun}（{self.point['unit'][:6]}报告）"
        else:
            category = rng.choice(list(CATEGORIES))
            noun = rng.choice(CATEGORIES[category])
            place = f"{self.point['unit'].split('（')[0]}附近"
            occurred = datetime.now(UTC) - timedelta(minutes=rng.uniform(5, 90))
            code = self.point["division_code"]
            title = f"{place}发生{noun}"
            _recent_events.append((category, noun, place, occurred, code))
            del _recent_events[:-500]
        dead, injured = rng.choice([0, 0, 0, 1, 2]), rng.choice([0, 1, 2, 3, 5, 8])
        local = occurred.astimezone(BEIJING)
        body = {
            "kind": "first",
            "title": title,
            "category": category,
            "occurred_at": local.isoformat(timespec="seconds"),
            "division_code": code,
            "place": place,
            "narrative": (
                f"{local:%m月%d日%H时%M分}许，{place}发生{noun}。"
                f"据初步了解，造成{dead}人死亡、{injured}人受伤。{rng.choice(MEASURES)}。"
            ),
            "dead": dead,
            "injured": injured,
        }
        if rng.random() < 0.6:
            body["latitude"] = round(27.0 + rng.uniform(0, 1.8), 5)
            body["longitude"] = round(110.0 + rng.uniform(0, 2.0), 5)
        created = self._post(body, "POST /api/reports 首报")
        if created and created.get("event_id"):
            self.events.append(created["event_id"])

    def file_followup(self) -> None:
        rng = self.rng
        body = {
            "kind": "followup",
            "event_id": self.events[-1] if rng.random() < 0.8 else rng.choice(self.events),
            "narrative": rng.choice(FOLLOWUPS),
            "dead": rng.randint(0, 3),
            "injured": rng.randint(0, 10),
        }
        self._post(body, "POST /api/reports 续报")


class DutyOfficer(HttpUser):
    fixed_count = int(os.environ.get("LOAD_OFFICERS", "20"))
    wait_time = between(*OFFICER_PACE)

    def on_start(self) -> None:
        officers = data()["officers"]
        me = officers[next(_officer_numbers) % len(officers)]
        form = self.client.get("/login/", name="GET /login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        with self.client.post(
            "/login/",
            data={
                "username": me["username"],
                "password": me["password"],
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            allow_redirects=False,
            name="POST /login/",
            catch_response=True,
        ) as response:
            _check(response, 302)
        self.after = ""
        self.event_ids: list[int] = []
        self.open_desk()
        now = time.monotonic()
        rng = random.Random()
        # Panels were just rendered with the page; each timer starts from there.
        self.due = {name: now + rng.uniform(0, every) for name, every in PANELS.items()}
        self.browse_at = now + rng.uniform(0, BROWSE_SECONDS)

    def open_desk(self) -> None:
        with self.client.get("/desk/", name="page /desk/", catch_response=True) as response:
            if _check(response, 200, "desk-feed"):
                found = re.search(r'data-after="([^"]*)"', response.text)
                self.after = found.group(1) if found else ""

    @task
    def tick(self) -> None:
        with self.client.get(
            "/desk/feed/",
            params={"after": self.after},
            headers={"Accept": "application/json"},
            name="poll /desk/feed/",
            catch_response=True,
        ) as response:
            if _check(response, 200, '"cursor"'):
                self.after = response.json().get("cursor") or self.after
        now = time.monotonic()
        for name, every in PANELS.items():
            if now >= self.due[name]:
                self.due[name] = now + every
                with self.client.get(
                    f"/desk/panels/{name}/",
                    headers={"HX-Request": "true"},
                    name=f"panel {name}",
                    catch_response=True,
                ) as response:
                    _check(response, 200)
        if now >= self.browse_at:
            self.browse_at = now + BROWSE_SECONDS
            self.browse()

    def browse(self) -> None:
        with self.client.get("/events/", name="page /events/", catch_response=True) as response:
            if _check(response, 200):
                ids = [int(i) for i in re.findall(r'href="/events/(\d+)/"', response.text)]
                self.event_ids = ids or self.event_ids
        if self.event_ids:
            pk = random.choice(self.event_ids[:10])
            with self.client.get(
                f"/events/{pk}/", name="page /events/[id]/", catch_response=True
            ) as response:
                _check(response, 200)
        self.open_desk()


class OpinionStream(HttpUser):
    fixed_count = OPINION_USERS
    wait_time = constant_pacing(1.0 / OPINION_CALLS_PER_SECOND_EACH)

    def on_start(self) -> None:
        self.number = next(_stream_numbers)
        self.sequence = itertools.count()
        self.rng = random.Random()
        self.headers = {
            "Authorization": f"Bearer {data()['opinion_token']}",
            "Content-Type": "application/x-ndjson",
        }
        self.counties = data()["counties"]
        self.posted = 0

    def _post_line(self) -> str:
        rng = self.rng
        n = next(self.sequence)
        county = rng.choice(self.counties)
        nouns = rng.choice(list(CATEGORIES.values()))
        if rng.random() < 0.4:
            text = f"{county}{rng.choice(nouns)}，{rng.choice(CHATTER)}"  # near duplicates
        else:
            text = (
                f"#{county}{rng.choice(nouns)}# {rng.choice(CHATTER)}，{rng.choice(CHATTER)}。"
                f"网友{rng.randint(1000, 99999)}现场直击 {n}"
            )
        post = {
            "platform": rng.choice(PLATFORMS),
            "post_id": f"load-{self.number}-{n}",
            "text": text,
            "published_at": datetime.now(BEIJING).isoformat(timespec="seconds"),
            "author": f"网友{rng.randint(1, 50000)}",
            "likes": rng.randint(0, 500),
            "reposts": rng.randint(0, 200),
            "comments": rng.randint(0, 100),
        }
        return json.dumps(post, ensure_ascii=False)

    @task
    def push(self) -> None:
        body = "\n".join(self._post_line() for _ in range(POSTS_PER_CALL)).encode()
        with self.client.post(
            "/api/opinion/posts",
            data=body,
            headers=self.headers,
            name="POST /api/opinion/posts ×100",
            catch_response=True,
        ) as response:
            if _check(response, 200, '"stored"'):
                answer = response.json()
                if answer.get("errors"):
                    response.failure(f"line errors: {answer['errors'][:2]}")
