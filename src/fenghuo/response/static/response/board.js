// Countdowns on the response board: each <time data-due> ticks towards its due time, from
// the server's clock (data-server-now), which also follows core.clock in drills. Whether a
// task is overdue is the server's word (the worker marks it); this only shows time left.
(function () {
  const board = document.querySelector("[data-server-now]");
  if (!board) return;
  const skew = Date.parse(board.dataset.serverNow) - Date.now();

  function text(ms) {
    const late = ms < 0;
    let minutes = Math.floor(Math.abs(ms) / 60000);
    const days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    const span = (days ? days + "天" : "") + (days || hours ? hours + "小时" : "") + minutes + "分";
    return late ? "已过时限 " + span : "剩余 " + span;
  }

  function tick() {
    const now = Date.now() + skew;
    document.querySelectorAll("[data-due]").forEach((el) => {
      const target = el.parentElement.querySelector(".countdown");
      if (!target || el.closest("[data-finished]")) return;
      const left = Date.parse(el.dataset.due) - now;
      target.textContent = text(left);
      target.classList.toggle("bad", left < 0);
      target.classList.toggle("soon", left >= 0 && left < 3600000);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
