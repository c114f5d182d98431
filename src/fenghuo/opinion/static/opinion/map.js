/* Maps of posts by division (Leaflet, served locally). Each .division-map names the
   json_script holding its points; without a tile server (offline duty networks) the circles
   sit on a plain background. A circle's area follows the posts, its colour the negative
   share (green → red); its popup lists the division's topics and links to them. */
(function () {
  "use strict";
  function colour(share) {
    const hue = Math.round(120 * (1 - Math.min(1, Math.max(0, share))));
    return "hsl(" + hue + ", 70%, 42%)";
  }
  function link(href, text) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }
  function popup(box, point) {
    const div = document.createElement("div");
    const head = document.createElement("strong");
    head.textContent = point.name + "：" + point.posts + " 条帖子，负面 " + Math.round(point.negative_share * 100) + "%";
    div.append(head);
    const list = document.createElement("ul");
    point.topics.forEach((topic) => {
      const item = document.createElement("li");
      item.append(link(box.dataset.topicUrl.replace("/0/", "/" + topic.id + "/"), topic.title), " · " + topic.posts);
      list.append(item);
    });
    div.append(list, link(box.dataset.listUrl + "?division=" + encodeURIComponent(point.code), "只看该地区的话题"));
    return div;
  }
  document.querySelectorAll(".division-map").forEach((box) => {
    const source = document.getElementById(box.dataset.points);
    if (!source || !window.L) return;
    const points = JSON.parse(source.textContent);
    const map = L.map(box, { attributionControl: Boolean(box.dataset.tileUrl) });
    if (box.dataset.tileUrl) {
      L.tileLayer(box.dataset.tileUrl, { attribution: box.dataset.attribution, maxZoom: 18 }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    const most = Math.max(1, ...points.map((point) => point.posts));
    points.forEach((point) => {
      L.circleMarker([point.lat, point.lng], {
        radius: 6 + 18 * Math.sqrt(point.posts / most),
        color: "#fff",
        weight: 1.5,
        fillColor: colour(point.negative_share),
        fillOpacity: 0.8,
      })
        .bindPopup(popup(box, point))
        .bindTooltip(point.name + " · " + point.posts)
        .addTo(map);
    });
    if (points.length) {
      map.fitBounds(points.map((point) => [point.lat, point.lng]), { padding: [30, 30], maxZoom: 9 });
    } else {
      map.setView([35, 105], 4);
    }
    box.dataset.markers = String(points.length);  // what the browser tests read
  });
})();
