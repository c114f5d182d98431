/* Warning maps: shapes coloured by level on Leaflet (offline: no tile layer unless a tile
   URL is configured, so the page makes no tile request), and the editor's drawing tools
   (Leaflet-Geoman) writing the drawn shapes into the form's hidden geometry field as
   [{"type": "Polygon", "coordinates": [[[lng, lat], …]]}, {"type": "Circle",
   "coordinates": [lng, lat], "radius_km": r}]. */
(function () {
  "use strict";
  const COLOURS = { red: "#c62828", orange: "#ef6c00", yellow: "#fbc02d", blue: "#1565c0" };
  const round = (value) => Math.round(value * 1e6) / 1e6;

  function baseMap(box) {
    const map = L.map(box, { attributionControl: Boolean(box.dataset.tileUrl) });
    if (box.dataset.tileUrl) {
      L.tileLayer(box.dataset.tileUrl, { attribution: box.dataset.attribution, maxZoom: 18 }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([35, 105], 4);
    return map;
  }

  function layerOf(shape, style) {
    if (shape.type === "Circle") {
      const [lng, lat] = shape.coordinates;
      return L.circle([lat, lng], { ...style, radius: shape.radius_km * 1000 });
    }
    if (shape.type === "Polygon") {
      return L.polygon(shape.coordinates[0].map(([lng, lat]) => [lat, lng]), style);
    }
    return null;
  }

  function fit(map, layers) {
    if (!layers.length) return;
    const bounds = L.featureGroup(layers).getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 12 });
  }

  // Read-only maps: every warning's shapes, with a popup linking the warning.
  document.querySelectorAll(".warning-map[data-shapes]").forEach((box) => {
    const data = document.getElementById(box.dataset.shapes);
    const warnings = data ? JSON.parse(data.textContent) : [];
    const map = baseMap(box);
    const layers = [];
    warnings.forEach((warning) => {
      const colour = COLOURS[warning.colour] || "#6b7280";
      warning.shapes.forEach((shape) => {
        const layer = layerOf(shape, { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.3 });
        if (!layer) return;
        const link = document.createElement("a");
        link.href = warning.url;
        link.textContent = warning.title;
        layer.bindPopup(link).bindTooltip(warning.title).addTo(map);
        layers.push(layer);
      });
    });
    box.dataset.drawn = String(layers.length);
    fit(map, layers);
  });

  // The editor: draw, edit, drag and remove polygons, rectangles and circles.
  const editor = document.querySelector(".warning-map[data-edit]");
  if (!editor) return;
  const field = document.getElementById(editor.dataset.edit);
  const count = document.getElementById("shape-count");
  const map = baseMap(editor);
  let existing = [];
  try {
    existing = field.value ? JSON.parse(field.value) : [];
  } catch (error) {
    existing = [];
  }
  const loaded = [];
  (Array.isArray(existing) ? existing : []).forEach((shape) => {
    const layer = layerOf(shape, { color: "#b3261e" });
    if (layer) loaded.push(layer.addTo(map));
  });
  fit(map, loaded);

  function shapeOf(layer) {
    if (layer instanceof L.Circle) {
      const centre = layer.getLatLng();
      return { type: "Circle", coordinates: [round(centre.lng), round(centre.lat)], radius_km: Math.round(layer.getRadius()) / 1000 };
    }
    if (layer instanceof L.Polygon) {
      const geometry = layer.toGeoJSON().geometry;
      if (geometry.type !== "Polygon") return null;
      return { type: "Polygon", coordinates: [geometry.coordinates[0].map(([lng, lat]) => [round(lng), round(lat)])] };
    }
    return null;
  }

  function save() {
    const shapes = map.pm.getGeomanLayers().map(shapeOf).filter(Boolean);
    field.value = shapes.length ? JSON.stringify(shapes) : "";
    if (count) count.textContent = String(shapes.length);
    editor.dataset.shapes = String(shapes.length);
  }

  if (map.pm) {
    map.pm.setLang("zh");
    map.pm.addControls({
      position: "topleft",
      drawMarker: false,
      drawCircleMarker: false,
      drawPolyline: false,
      drawText: false,
      cutPolygon: false,
      rotateMode: false,
    });
    map.on("pm:create", (event) => {
      event.layer.on("pm:edit pm:dragend", save);
      save();
    });
    map.on("pm:remove", save);
    loaded.forEach((layer) => layer.on("pm:edit pm:dragend", save));
    save();
  }
})();
