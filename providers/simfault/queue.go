package simfault

import "sync"

// Queue holds the faults waiting for the next requests. A fault may be aimed at one route
// (a name the simulator chooses, such as "POST /payments/{id}") or at any request (route
// ""). Faults are used in the order they were added: the first one that matches a request
// is taken. It is safe for concurrent use; the zero value is an empty queue.
type Queue struct {
	mu    sync.Mutex
	rules []rule
}

// rule is n coming requests to route ("" for any) failing with fault.
type rule struct {
	route string
	left  int
	fault Fault
}

// Add makes the next n requests to route ("" for any route) fail with f. Calls add up:
// Add("", 1, Unavailable) then Add("", 1, DropAnswer) fails the next request with a 503
// and the one after by dropping its answer. n <= 0 does nothing.
func (q *Queue) Add(route string, n int, f Fault) {
	if n <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rules = append(q.rules, rule{route: route, left: n, fault: f})
}

// Take uses up the first pending fault that matches route, or returns None.
func (q *Queue) Take(route string) Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range q.rules {
		r := &q.rules[i]
		if r.route != "" && r.route != route {
			continue
		}
		f := r.fault
		r.left--
		if r.left == 0 {
			q.rules = append(q.rules[:i], q.rules[i+1:]...)
		}
		return f
	}
	return None
}

// Clear drops every pending fault.
func (q *Queue) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.rules = nil
}

// Pending is how many requests pending faults will still fail.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, r := range q.rules {
		n += r.left
	}
	return n
}
