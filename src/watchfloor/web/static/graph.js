// watchfloor cluster graph (/posts/ID/graph): fetches /api/posts/ID/graph and draws it with the
// vendored sigma.js over a graphology graph. Loaded as a file (the CSP forbids inline script).
// Labels are drawn on a canvas as plain text and the legend is built with textContent: handles are
// hostile. The tables on the page hold the same data; when this browser cannot draw (no WebGL), the
// page says so and the tables remain.
"use strict";

(function () {
  const PALETTE = ["#1f5fbf", "#c24e00", "#2e7d32", "#8e24aa", "#00838f", "#9a6700", "#ad1457", "#5d4037"];
  const CONTENT = "#14213d";
  const LINK = "rgba(176, 0, 32, 0.55)";
  const POSTED = "#c3cad4";

  function say(status, text) {
    status.textContent = text;
  }

  function colours(nodes) {
    const found = new Map();
    nodes.forEach(function (node) {
      if (node.platform !== null && !found.has(node.platform)) {
        found.set(node.platform, PALETTE[found.size % PALETTE.length]);
      }
    });
    return found;
  }

  function legend(list, byPlatform) {
    list.replaceChildren();
    byPlatform.forEach(function (colour, platform) {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = colour; // CSSOM, which the CSP allows (no style attribute)
      item.append(swatch, document.createTextNode(platform));
      list.append(item);
    });
  }

  // The content in the middle; accounts on a circle, clockwise from the top in the order they first
  // posted, so the ring reads like a clock of who posted when.
  function build(data, byPlatform) {
    const graph = new graphology.Graph({ type: "undirected", multi: false });
    const accounts = data.nodes.filter(function (n) { return n.kind === "account"; });
    data.nodes.forEach(function (node) {
      if (node.kind === "content") {
        graph.addNode(node.id, { x: 0, y: 0, size: 14, color: CONTENT, label: node.label });
        return;
      }
      const i = accounts.indexOf(node);
      const angle = (2 * Math.PI * i) / Math.max(accounts.length, 1);
      graph.addNode(node.id, {
        x: Math.sin(angle),
        y: Math.cos(angle),
        size: 4 + 3 * Math.sqrt(node.posts),
        color: byPlatform.get(node.platform) || PALETTE[0],
        label: node.label + " (" + node.posts + ")",
      });
    });
    data.edges.forEach(function (edge) {
      const coPosted = edge.kind === "co_posted";
      graph.addEdgeWithKey(edge.id, edge.source, edge.target, {
        size: coPosted ? Math.min(1 + edge.weight, 8) : 1,
        color: coPosted ? LINK : POSTED,
      });
    });
    return graph;
  }

  function selectRow(node) {
    document.querySelectorAll("tr[data-node].selected").forEach(function (row) {
      row.classList.remove("selected");
    });
    const row = document.querySelector('tr[data-node="' + node.replace(/[^a-z0-9]/gi, "") + '"]');
    if (row) {
      row.classList.add("selected");
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function draw(container, status, list, data) {
    const byPlatform = colours(data.nodes);
    legend(list, byPlatform);
    const graph = build(data, byPlatform);
    let renderer;
    try {
      renderer = new Sigma(graph, container, { labelRenderedSizeThreshold: 0, minCameraRatio: 0.1, stagePadding: 60 });
    } catch (err) {
      container.classList.add("unavailable");
      say(status, "This browser cannot draw the graph (" + err.message + "); the tables have the same data.");
      return;
    }
    renderer.on("clickNode", function (event) { selectRow(event.node); });
    const accounts = data.nodes.length - 1;
    const links = data.edges.filter(function (e) { return e.kind === "co_posted"; }).length;
    say(status, accounts + " account(s), " + links + " link(s) between accounts. Drag to pan, scroll to zoom, click an account to find it in the table.");
    container.dataset.drawn = "true";
  }

  function start() {
    const container = document.getElementById("cluster-graph");
    if (!container) return;
    const status = document.getElementById("cluster-graph-status");
    const list = document.getElementById("cluster-graph-legend");
    if (typeof Sigma === "undefined" || typeof graphology === "undefined") {
      say(status, "The graph library did not load; the tables have the same data.");
      return;
    }
    fetch(container.dataset.src, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || "the server answered " + response.status);
          return body;
        });
      })
      .then(function (data) { draw(container, status, list, data); })
      .catch(function (err) { say(status, "The graph could not be loaded: " + err.message); });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
