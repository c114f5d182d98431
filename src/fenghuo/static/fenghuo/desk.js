/* The duty desk (值班台): the live feed of arrivals (Server-Sent Events, with polling as the
   fallback), an alarm for grade Ⅱ and above, countdowns ticking towards their due times,
   and the map of active events. Strings come translated from the page's data attributes. */
(function () {
  "use strict";
  const feed = document.getElementById("desk-feed");
  if (!feed) return;
  const list = document.getElementById("arrivals");
  const status = document.getElementById("desk-live");
  const soundButton = document.getElementById("desk-sound");
  const grid = document.querySelector(".desk-grid");

  // A late commit may trail later ids by this much and still be fetched (desk/selectors.py).
  const LOOKBACK_MS = 30000;
  const POLL_MS = 2000;
  // The server pings every 10 s; this long without a word means a proxy holds the stream.
  const SILENCE_MS = 25000;
  const RECONNECT_MS = 60000;
  const KEEP = 100;

  // For anyone watching the page (and the browser tests, as headless chromium plays no
  // sound): how many alarms went off, how many rows arrived, how the feed is connected.
  const desk = (window.fenghuoDesk = { alarms: 0, alarmKeys: [], arrivals: 0, mode: "connecting" });

  function setMode(mode) {
    desk.mode = mode;
    status.dataset.mode = mode;
    status.textContent = status.dataset[mode] || status.textContent;
  }

  // --- sound: a short two-tone alarm made with WebAudio (no sound file to fetch) ---------
  let audio = null;
  function audioContext() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    return audio;
  }
  function beep() {
    const ctx = audioContext();
    if (!ctx) return;
    if (ctx.state !== "running") soundButton.hidden = false;
    const start = ctx.currentTime;
    [0, 0.3, 0.6].forEach((offset, i) => {
      const tone = ctx.createOscillator();
      const gain = ctx.createGain();
      tone.type = "square";
      tone.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.15, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.25);
      tone.connect(gain).connect(ctx.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.27);
    });
  }
  function enableSound() {
    const ctx = audioContext();
    if (ctx) ctx.resume().then(() => { soundButton.hidden = ctx.state === "running"; });
  }
  // Browsers keep audio muted until the user has interacted with the page.
  soundButton.addEventListener("click", enableSound);
  document.addEventListener("pointerdown", enableSound, { once: true });
  if (audioContext() && audio.state !== "running") soundButton.hidden = false;

  let lastBeep = 0;
  function alarm(key) {
    desk.alarms += 1;
    desk.alarmKeys.push(key);
    feed.dataset.alarms = String(desk.alarms);
    if (Date.now() - lastBeep > 1500) { // one alarm for a burst, not a din
      lastBeep = Date.now();
      beep();
    }
  }

  // --- the feed: arrivals (reports, drafts to confirm) and in-app messages ----------------
  const baseTitle = document.title;
  let unseen = 0;
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      unseen = 0;
      document.title = baseTitle;
    }
  });

  const seen = new Set();
  const PLACES = { arrival: ["arrival-", "arrivals"], notice: ["notice-", "notices"] };
  function add(item) {
    const [prefix, listId] = PLACES[item.kind];
    if (seen.has(item.key) || document.getElementById(prefix + item.key)) return false;
    seen.add(item.key);
    const target = document.getElementById(listId);
    if (target) {
      const template = document.createElement("template");
      template.innerHTML = item.html.trim(); // rendered and escaped by the server
      const row = template.content.firstElementChild;
      row.classList.add("fresh");
      target.prepend(row);
      while (target.children.length > KEEP) target.lastElementChild.remove();
    }
    if (item.kind === "arrival") desk.arrivals += 1;
    if (item.alarm) alarm(item.key);
    if (document.hidden) {
      unseen += 1;
      document.title = "(" + unseen + ") " + baseTitle;
    }
    return true;
  }
  function received(items) {
    const added = items.filter(add);
    // Panels that depend on what arrived refresh themselves on these (hx-trigger).
    if (added.some((item) => item.kind === "arrival")) {
      document.body.dispatchEvent(new CustomEvent("desk:arrival"));
    }
    if (added.some((item) => item.kind === "notice")) {
      document.body.dispatchEvent(new CustomEvent("desk:notice"));
      if (window.htmx) htmx.trigger("#panel-inbox", "refresh");
    }
  }

  // Positions held over the last LOOKBACK_MS: a poll asks from the oldest of them.
  let marks = [[Date.now(), feed.dataset.after]];
  function floor() {
    const now = Date.now();
    while (marks.length > 1 && now - marks[1][0] >= LOOKBACK_MS) marks.shift();
    return marks[0][1];
  }
  function mark(cursor) {
    if (cursor && cursor !== marks[marks.length - 1][1]) marks.push([Date.now(), cursor]);
  }

  let pollTimer = null;
  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const url = feed.dataset.feedUrl + "?after=" + encodeURIComponent(floor());
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.includes("json")) throw new Error(String(response.status));
      const body = await response.json();
      received(body.items);
      mark(body.cursor);
      if (pollTimer) setMode("polling");
    } catch (error) {
      if (pollTimer) setMode("offline");
    } finally {
      polling = false;
    }
  }
  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(poll, POLL_MS);
    poll();
  }
  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
  }

  let source = null;
  let silence = null;
  function heard(event) {
    // The stream's id already looks back (the server keeps its own marks).
    if (event.lastEventId) marks = [[Date.now(), event.lastEventId]];
    stopPolling();
    setMode("live");
    clearTimeout(silence);
    silence = setTimeout(startPolling, SILENCE_MS);
  }
  function connect() {
    if (!("EventSource" in window) || !feed.dataset.streamUrl) return;
    source = new EventSource(feed.dataset.streamUrl + "?after=" + encodeURIComponent(floor()));
    source.addEventListener("ping", heard);
    for (const kind of ["arrival", "notice"]) {
      source.addEventListener(kind, (event) => {
        heard(event);
        received([JSON.parse(event.data)]);
      });
    }
    source.addEventListener("error", () => {
      clearTimeout(silence);
      startPolling(); // while the browser reconnects, or for good if it gave up
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
    });
  }
  // Poll once at once, so nothing waits for the stream to open; the first ping stops it.
  startPolling();
  connect();

  // --- countdowns: ticking here, from due times the server sent ---------------------------
  let skew = 0; // server clock minus this browser's clock
  function syncClock(holder) {
    // Only a fresh answer's clock counts: a panel without one keeps the current skew.
    if (holder && holder.dataset.serverNow) {
      skew = Date.parse(holder.dataset.serverNow) - Date.now();
    }
  }
  function duration(ms) {
    const s = Math.floor(ms / 1000);
    const pad = (n) => String(n).padStart(2, "0");
    const hours = Math.floor(s / 3600);
    return (hours ? hours + ":" : "") + pad(Math.floor((s % 3600) / 60)) + ":" + pad(s % 60);
  }
  function tick() {
    const now = Date.now() + skew;
    document.querySelectorAll("[data-due]").forEach((clock) => {
      const left = Date.parse(clock.dataset.due) - now;
      const overdue = left <= 0;
      clock.classList.toggle("overdue", overdue);
      const row = clock.closest("[data-countdown]");
      if (row) row.classList.toggle("overdue", overdue);
      clock.textContent =
        (overdue ? grid.dataset.overdue : grid.dataset.remaining) + " " + duration(Math.abs(left));
    });
  }
  syncClock(grid);
  tick();
  setInterval(tick, 1000);

  // --- map of active events ----------------------------------------------------------------
  const mapBox = document.getElementById("desk-map");
  const COLOURS = { 1: "#c62828", 2: "#ef6c00", 3: "#fbc02d", 4: "#1565c0" };
  let map = null;
  let markers = null;
  let drawn = "";
  function drawMap() {
    if (!mapBox || !window.L) return;
    const data = document.getElementById("desk-map-points");
    const points = data ? JSON.parse(data.textContent) : [];
    if (!map) {
      map = L.map(mapBox, { attributionControl: Boolean(mapBox.dataset.tileUrl) });
      // Without a tile server (offline duty networks) the markers sit on a plain background.
      if (mapBox.dataset.tileUrl) {
        L.tileLayer(mapBox.dataset.tileUrl, {
          attribution: mapBox.dataset.attribution,
          maxZoom: 18,
        }).addTo(map);
      }
      L.control.scale({ imperial: false }).addTo(map);
      markers = L.layerGroup().addTo(map);
      map.setView([35, 105], 4);
    }
    markers.clearLayers();
    points.forEach((point) => {
      const popup = document.createElement("div");
      const badge = document.createElement("strong");
      badge.textContent = point.label + " ";
      const link = document.createElement("a");
      link.href = point.url;
      link.textContent = point.title;
      popup.append(badge, link);
      L.circleMarker([point.lat, point.lng], {
        radius: point.grade && point.grade <= 2 ? 10 : 7,
        color: "#fff",
        weight: 2,
        fillColor: COLOURS[point.grade] || "#6b7280",
        fillOpacity: 0.9,
      })
        .bindPopup(popup)
        .bindTooltip(point.title)
        .addTo(markers);
    });
    mapBox.dataset.markers = String(points.length);
    // Re-fit only when the set of events changed, not under an officer who has zoomed in.
    const ids = points.map((point) => point.id).join(",");
    if (points.length && ids !== drawn) {
      map.fitBounds(points.map((point) => [point.lat, point.lng]), { padding: [30, 30], maxZoom: 11 });
    }
    drawn = ids;
  }
  drawMap();

  // --- in-app messages: mark read through the notify API (session + CSRF) -----------------
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-mark-read]");
    if (!button) return;
    const ids = [...document.querySelectorAll("#notices li.unread[data-id]")].map((li) =>
      Number(li.dataset.id),
    );
    button.disabled = true;
    await fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ ids: ids }),
    }).catch(() => null);
    if (window.htmx) htmx.trigger("#panel-inbox", "refresh");
  });

  document.body.addEventListener("htmx:afterSettle", (event) => {
    syncClock(event.target.querySelector("[data-server-now]"));
    tick();
    if (event.target.id === "panel-events") drawMap();
  });
})();
