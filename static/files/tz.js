// Tells Paydesk the browser's time zone, so that pages show times in the person's own
// (web/time_zone.go): a cookie "tz" holding the IANA name, e.g. "Europe/Paris", written
// when it is missing or has changed. A zone chosen on the settings page wins over it.
// Without this script, or before its first run, times show in UTC.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (_) { return; }
  if (!zone || !/^[A-Za-z0-9_+\/-]{1,64}$/.test(zone)) return;
  var m = document.cookie.match(/(?:^|;\s*)tz=([^;]*)/);
  if (m && m[1] === zone) return;
  // Written as it is: a zone name's characters (checked above) are all allowed in a cookie.
  document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax" +
    (location.protocol === "https:" ? "; secure" : "");
})();
