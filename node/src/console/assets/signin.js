// Sign-in: the link's secret is in the URL fragment, which the browser never sends to a server.
// Take it out of the address bar at once, then post it in the form, which answers with a session.
(function () {
  "use strict";
  var form = document.getElementById("signin");
  var secret = window.location.hash.slice(1);
  if (!form || !secret) { return; }
  window.history.replaceState(null, "", window.location.pathname);
  form.elements.token.value = secret;
  form.submit();
})();
