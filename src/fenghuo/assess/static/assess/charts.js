/* Evaluation charts (ECharts, served locally). Data comes from the page's json_script
   (#assess-charts); each chart box names what it draws in data-chart. */
(function () {
  "use strict";
  const source = document.getElementById("assess-charts");
  if (!source || !window.echarts) return;
  const data = JSON.parse(source.textContent);
  const charts = [];
  const COLOURS = { score: "#b71c1c", timeliness: "#1565c0", late: "#fbc02d", missed: "#ef6c00", concealed: "#6a1b9a" };

  const builders = {
    scores: () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["总分", "按时报送率（%）"] },
      grid: { left: 48, right: 48, top: 48, bottom: 80 },
      xAxis: { type: "category", data: data.units, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: [{ type: "value", name: "总分", min: 0 }, { type: "value", name: "%", min: 0, max: 100 }],
      series: [
        { name: "总分", type: "bar", data: data.scores, itemStyle: { color: COLOURS.score } },
        { name: "按时报送率（%）", type: "line", yAxisIndex: 1, showSymbol: true, symbolSize: 8, data: data.timeliness, itemStyle: { color: COLOURS.timeliness } },
      ],
    }),
    cases: () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["迟报", "漏报", "瞒报"] },
      grid: { left: 40, right: 16, top: 48, bottom: 80 },
      xAxis: { type: "category", data: data.cases_units, axisLabel: { interval: 0, rotate: 30 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "迟报", type: "bar", stack: "cases", data: data.late, itemStyle: { color: COLOURS.late } },
        { name: "漏报", type: "bar", stack: "cases", data: data.missed, itemStyle: { color: COLOURS.missed } },
        { name: "瞒报", type: "bar", stack: "cases", data: data.concealed, itemStyle: { color: COLOURS.concealed } },
      ],
    }),
    trend: () => ({
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["总分", "按时报送率（%）"] },
      grid: { left: 48, right: 48, top: 48, bottom: 40 },
      xAxis: { type: "category", data: data.trend.map((t) => t.label) },
      yAxis: [{ type: "value", name: "总分", min: 0 }, { type: "value", name: "%", min: 0, max: 100 }],
      series: [
        // A period with no data is a gap, and a lone period still shows as a point.
        { name: "总分", type: "line", showSymbol: true, symbolSize: 8, data: data.trend.map((t) => t.score), itemStyle: { color: COLOURS.score } },
        { name: "按时报送率（%）", type: "line", yAxisIndex: 1, showSymbol: true, symbolSize: 8, data: data.trend.map((t) => t.timeliness), itemStyle: { color: COLOURS.timeliness } },
      ],
    }),
  };

  document.querySelectorAll("[data-chart]").forEach((box) => {
    const build = builders[box.dataset.chart];
    if (!build) return;
    const instance = echarts.init(box, null, { renderer: "svg" });
    instance.setOption(build());
    charts.push(instance);
  });
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
})();
