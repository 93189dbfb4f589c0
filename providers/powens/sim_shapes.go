package powens

import (
	"encoding/json"
	"net/http"
	"paydesk/providers/simshape"
)

// How much of a payment the simulator puts in its answers (SimConfig.Shapes):
// simshape.Full answers whole payment objects wherever a payment is concerned (the
// default): the reading of the guides the client was first written from.
// simshape.Documented answers exactly the fields Powens' guides show: a cancellation gets
// {"id","state","error_code"} or {"id","state","state_detail"} (the bank's variant adds
// nothing: its validate_uri is only in the payment, read with GET), error bodies are
// {"code","description"} without request_id, and a payment read with GET carries
// error_code and error_description as null when it has none, as the guide's created
// payment does. The payer coming back from the webview is sent to the client_redirect_uri
// and client_state configured on the payment, as the guide's "Receive a callback" says,
// rather than to the link's own.

// extraFields are the fields ExtraFields adds to every object: names Paydesk does not
// know, of every JSON type, as a newer API would send.
var extraFields = map[string]any{
	"sim_extra_number": json.RawMessage(`12.5`),
	"sim_extra_object": json.RawMessage(`{"kind":"unknown","list":[1,"two",null,true]}`),
	"sim_extra_null":   json.RawMessage(`null`),
}

// reply answers v as JSON, shaped as the simulator is configured.
func (s *Simulator) reply(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.replyRaw(w, status, b)
}

// replyRaw answers a JSON body, with the extra fields when they are asked for.
func (s *Simulator) replyRaw(w http.ResponseWriter, status int, b []byte) {
	if s.cfg.ExtraFields {
		if more, err := withExtraFields(b); err == nil {
			b = more
		}
	}
	writeRaw(w, status, b)
}

// paymentAnswer is a payment as GET /payments/{id} (and a list) answers it.
func (s *Simulator) paymentAnswer(p *payment) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil || s.cfg.Shapes != simshape.Documented {
		return b, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	for _, k := range []string{"error_code", "error_description"} {
		if _, ok := obj[k]; !ok {
			obj[k] = json.RawMessage(`null`)
		}
	}
	return json.Marshal(obj)
}

// cancelAnswerOf is the answer to an accepted cancellation: the whole payment, or in
// simshape.Documented only the fields the guide shows for the outcome.
func (s *Simulator) cancelAnswerOf(p *payment) ([]byte, error) {
	if s.cfg.Shapes != simshape.Documented {
		return json.Marshal(p)
	}
	ans := struct {
		ID          flexID `json:"id"`
		State       string `json:"state"`
		StateDetail string `json:"state_detail,omitempty"`
		ErrorCode   string `json:"error_code,omitempty"`
	}{ID: p.ID, State: p.State, StateDetail: p.StateDetail, ErrorCode: p.ErrorCode}
	return json.Marshal(ans)
}

// notSupportedStatus is the HTTP status of the notSupported answer.
func (s *Simulator) notSupportedStatus() int {
	if s.cfg.NotSupportedStatus != 0 {
		return s.cfg.NotSupportedStatus
	}
	return http.StatusBadRequest
}

// withExtraFields adds fields no Powens document names to every JSON object in b, nested
// ones included (the "…" of the guides' examples). Numbers are kept as written.
func withExtraFields(b []byte) ([]byte, error) { return simshape.WithFields(b, extraFields) }
