// Report form helpers: "use my location" and picking the point on the city map.
// The form works without this script (typed coordinates or a ward).
(function () {
  "use strict";
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  if (!lat || !lon) return;
  var status = document.getElementById("locate-status");
  var svg = document.querySelector("[data-pick] svg");
  function setMarker(la, lo) {
    if (!svg) return;
    var b = svg.viewBox.baseVal;
    var d = svg.dataset;
    var x = (lo - d.lon0) / (d.lon1 - d.lon0) * b.width;
    var y = (d.lat1 - la) / (d.lat1 - d.lat0) * b.height;
    var m = svg.querySelector("[data-marker]");
    if (!m) {
      m = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      m.setAttribute("r", "8");
      m.setAttribute("class", "map-marker");
      m.setAttribute("data-marker", "1");
      svg.appendChild(m);
    }
    m.setAttribute("cx", x.toFixed(1));
    m.setAttribute("cy", y.toFixed(1));
  }
  function set(la, lo) {
    lat.value = la.toFixed(6);
    lon.value = lo.toFixed(6);
    var ward = document.getElementById("ward");
    if (ward && ward.tagName === "SELECT") ward.value = "";
    setMarker(la, lo);
  }
  if (svg) {
    svg.style.cursor = "crosshair";
    svg.addEventListener("click", function (ev) {
      var r = svg.getBoundingClientRect();
      var b = svg.viewBox.baseVal;
      var d = svg.dataset;
      var x = (ev.clientX - r.left) / r.width * b.width;
      var y = (ev.clientY - r.top) / r.height * b.height;
      var lo = +d.lon0 + x / b.width * (d.lon1 - d.lon0);
      var la = +d.lat1 - y / b.height * (d.lat1 - d.lat0);
      set(la, lo);
    });
  }
  var btn = document.getElementById("locate-me");
  if (btn && navigator.geolocation) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      if (status) status.textContent = "…";
      navigator.geolocation.getCurrentPosition(function (pos) {
        set(pos.coords.latitude, pos.coords.longitude);
        if (status) status.textContent = lat.value + ", " + lon.value;
      }, function (err) {
        if (status) status.textContent = err.message;
      }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }
})();
