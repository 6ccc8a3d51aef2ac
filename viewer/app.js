// The viewer's only script: sortable tables and a running run's refresh.
"use strict";

// Click a header of a table.sortable to sort its rows by that column:
// numerically when both cells read as numbers, else as text.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th.sortable").forEach(function (th) {
    th.addEventListener("click", function () {
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var dir = th.dataset.dir === "asc" ? "desc" : "asc";
      th.parentNode.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col] ? a.cells[col].textContent.trim() : "";
        var y = b.cells[col] ? b.cells[col].textContent.trim() : "";
        var nx = parseFloat(x), ny = parseFloat(y), c;
        if (!isNaN(nx) && !isNaN(ny) && String(nx) !== "NaN") {
          c = nx - ny;
        } else {
          c = x.localeCompare(y);
        }
        return dir === "asc" ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});

// A running run's page reloads every few seconds, so its curves grow.
var refresh = document.querySelector("[data-refresh]");
if (refresh && refresh.dataset.refresh) {
  setTimeout(function () { location.reload(); }, 1000 * Number(refresh.dataset.refresh));
}
