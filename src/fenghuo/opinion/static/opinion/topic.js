/* Topic page charts (ECharts, served locally). Data comes from the page's json_script. */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("topic-charts").textContent);
  const charts = [];
  function chart(id, option) {
    const box = document.getElementById(id);
    if (!box || !window.echarts) return;
    const instance = echarts.init(box, null, { renderer: "svg" });
    instance.setOption(option);
    charts.push(instance);
  }
  const SENTIMENT = { negative: "#c62828", neutral: "#9e9e9e", positive: "#2e7d32" };
  chart("chart-timeline", {
    tooltip: { trigger: "axis" },
    legend: { data: ["帖子数", "负面"] },
    grid: { left: 40, right: 16, top: 36, bottom: 28 },
    xAxis: { type: "category", data: data.timeline.map((b) => b.start) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "帖子数", type: "line", smooth: true, areaStyle: { opacity: 0.15 }, data: data.timeline.map((b) => b.posts) },
      { name: "负面", type: "line", smooth: true, itemStyle: { color: SENTIMENT.negative }, data: data.timeline.map((b) => b.negative) },
    ],
  });
  chart("chart-sentiment", {
    tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
    series: [{
      type: "pie",
      radius: ["40%", "70%"],
      data: data.sentiment.map((s) => ({ name: s.name, value: s.value, itemStyle: { color: SENTIMENT[s.label] } })),
    }],
  });
  chart("chart-platforms", {
    tooltip: { trigger: "axis" },
    grid: { left: 80, right: 16, top: 10, bottom: 24 },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: data.platforms.map((p) => p.name) },
    series: [{ type: "bar", data: data.platforms.map((p) => p.value) }],
  });
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
