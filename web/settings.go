package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"paydesk/views"
)

// commonZones are the settings page's suggestions; any IANA zone may be typed.
var commonZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
	"Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Warsaw",
	"Europe/Prague", "Europe/Vienna", "Europe/Zurich", "Europe/Stockholm", "Europe/Helsinki",
	"Europe/Athens", "Europe/Bucharest", "Europe/Kyiv", "Europe/Istanbul", "Africa/Casablanca",
	"Africa/Lagos", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore",
	"Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland", "America/Sao_Paulo",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Mexico_City",
}

// zoneChoiceAge is how long a chosen zone is remembered.
const zoneChoiceAge = 365 * 24 * time.Hour

// settingsPage shows the time zone in use and the form to choose another.
func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, s.page(w, r, "Settings", "settings"), views.SettingsView(s.settingsView(r, "")))
}

// settingsView is the settings page for r, with value in the field when not "".
func (s *Server) settingsView(r *http.Request, value string) views.Settings {
	v := views.Settings{Zone: views.Zone(r.Context()).String(), Zones: commonZones, Mail: s.mailSettings(r)}
	if loc, ok := cookieZone(r, zoneCookie); ok {
		v.Browser = loc.String()
	}
	if loc, ok := cookieZone(r, zoneChoiceCookie); ok {
		v.Choice = loc.String()
	}
	v.Value = v.Choice
	if value != "" {
		v.Value = value
	}
	return v
}

// settingsZone records the time zone the person chose (a cookie, for this browser), or
// forgets it when the field is empty so that times follow the browser again. A name that
// is not a zone is refused with a sentence and changes nothing.
func (s *Server) settingsZone(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Form not understood", "The form could not be read. Go back and try again.", err)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("zone"))
	secure := r.TLS != nil || strings.HasPrefix(s.desk.BaseURL(), "https://")
	cookie := &http.Cookie{Name: zoneChoiceCookie, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if name == "" {
		cookie.MaxAge = -1
		http.SetCookie(w, cookie)
		s.flash(w, r, "success", "Times now follow your browser's time zone.")
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
		return
	}
	loc, ok := loadZone(name)
	if !ok {
		v := s.settingsView(r, name)
		v.Error = fmt.Sprintf("%q is not a time zone Paydesk knows: type a name such as Europe/Paris or America/New_York (or UTC). Nothing was changed.", name)
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, s.page(w, r, "Settings", "settings"), views.SettingsView(v))
		return
	}
	cookie.Value = loc.String()
	cookie.MaxAge = int(zoneChoiceAge / time.Second)
	http.SetCookie(w, cookie)
	s.flash(w, r, "success", "Times now show in "+loc.String()+".")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}
