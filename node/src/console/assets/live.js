// Live badges: asks the node every few seconds for the pending count and the sync state and puts
// them in the header, so an administrator sees new work without reloading. Pages work without it.
(function () {
  "use strict";
  // A page answered to a form keeps the form's ?csrf= in its address: take it out of the address
  // bar and the history.
  if (/[?&]csrf=/.test(window.location.search)) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  var pending = document.getElementById("live-pending");
  var sync = document.getElementById("live-sync");
  if (!pending || !sync) { return; }
  function show(state) {
    pending.textContent = "待审批 Pending " + state.pending;
    pending.dataset.count = String(state.pending);
    sync.textContent = state.sync_zh + " " + state.sync_en;
    sync.className = "badge " + (state.sync_ok ? "ok" : "warn");
  }
  function poll() {
    fetch("/console/live", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(show)
      .catch(function () { sync.textContent = "未连接 Console offline"; sync.className = "badge warn"; })
      .finally(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 3000);
})();
