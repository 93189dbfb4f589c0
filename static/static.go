// Package static embeds Paydesk's CSS, JavaScript and images and serves them under
// fingerprinted URLs (/static/app.3f9a1c2b.css) with long cache headers: embedded files
// have no modification time, so the content hash is what tells browsers a file changed.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed files
var files embed.FS

type asset struct {
	body        []byte
	contentType string
}

// Assets maps logical names ("app.css") to fingerprinted URLs and serves them.
type Assets struct {
	urls   map[string]string // logical name → /static/name.hash.ext
	byPath map[string]asset  // fingerprinted file name → content
}

// New reads every embedded file once and computes its fingerprint.
func New() (*Assets, error) {
	a := &Assets{urls: map[string]string{}, byPath: map[string]asset{}}
	err := fs.WalkDir(files, "files", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "files/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		fp := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:])[:10] + ext
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.urls[name] = "/static/" + fp
		a.byPath[fp] = asset{body: body, contentType: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// URL returns the fingerprinted URL of a logical asset name. An unknown name panics at
// start-up in tests rather than producing a broken page in production.
func (a *Assets) URL(name string) string {
	u, ok := a.urls[name]
	if !ok {
		panic("static: no asset " + name)
	}
	return u
}

// ServeHTTP serves /static/{fingerprinted name}. Because a URL never changes content, it
// may be cached for a year and marked immutable.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	f, ok := a.byPath[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(f.body)
}
