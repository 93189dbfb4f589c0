package web

import (
	"net/http"

	"paydesk/providers"
	"paydesk/web/auth"
)

// Access is who may use a route. The rule is checked on the server for every request,
// whatever the page shows or hides.
type Access int

// The access rules: who may do what (the README's table of pages).
const (
	// Public: no sign-in (health checks, sign-in itself, the payer's return page, webhooks).
	Public Access = iota
	// SignedIn: any signed-in user, even without a role (sign-out, the no-access page).
	SignedIn
	// ViewPayments: support, finance, manager.
	ViewPayments
	// Act: cancel, expire, request refunds, payer links — support and manager.
	Act
	// Approve: approve or reject refunds — manager.
	Approve
	// Finance: refund history, totals, CSV — finance and manager.
	Finance
	// AuditLog: the audit log — finance and manager.
	AuditLog
	// Manage: everyone's sign-in sessions, and ending them — manager.
	Manage
)

// roles lists which roles grant each access; a user holding any of them is allowed.
var roles = map[Access][]auth.Role{
	ViewPayments: {auth.RoleSupport, auth.RoleFinance, auth.RoleManager},
	Act:          {auth.RoleSupport, auth.RoleManager},
	Approve:      {auth.RoleManager},
	Finance:      {auth.RoleFinance, auth.RoleManager},
	AuditLog:     {auth.RoleFinance, auth.RoleManager},
	Manage:       {auth.RoleManager},
}

// String names an access rule for logs and tests.
func (a Access) String() string {
	return [...]string{"public", "signed-in", "view-payments", "act", "approve", "finance", "audit", "manage"}[a]
}

// Allows reports whether u may use a route with this rule.
func (a Access) Allows(u auth.User) bool {
	switch a {
	case Public, SignedIn:
		return true
	}
	return u.HasAny(roles[a]...)
}

// Route is one line of the route table: method and path, who may use it, the handler.
type Route struct {
	Pattern string
	Access  Access
	Handler http.HandlerFunc
}

// routeTable is the whole application on one page, grouped by page.
func (s *Server) routeTable() []Route {
	routes := []Route{
		// Operations and assets.
		{"GET /healthz", Public, s.healthz},
		{"GET /readyz", Public, s.readyz},
		{"GET /static/", Public, s.assets.ServeHTTP},

		// Sign-in.
		{"GET /auth/login", Public, s.auth.Login},
		{"GET /auth/callback", Public, s.auth.Callback},
		{"POST /auth/logout", SignedIn, s.auth.Logout},
		{"POST /auth/logout/everywhere", SignedIn, s.logoutEverywhere},

		// Sign-in sessions (managers).
		{"GET /sessions", Manage, s.sessionsPage},
		{"POST /sessions/{id}/end", Manage, s.sessionEnd},
		{"POST /sessions/end-person", Manage, s.sessionsEndPerson},
		{"GET /signed-out", Public, s.signedOut},

		// The person's settings: the time zone times show in.
		{"GET /settings", SignedIn, s.settingsPage},
		{"POST /settings/time-zone", SignedIn, s.settingsZone},
		{"POST /settings/mail", SignedIn, s.settingsMail},

		// E-mail: the outbox (managers), the demo's caught mail (any signed-in person;
		// 404 outside the demo).
		{"GET /outbox", Manage, s.outboxPage},
		{"POST /outbox/{id}/retry", Manage, s.outboxRetry},
		{"GET /mail", SignedIn, s.mailPage},

		// Dashboard.
		{"GET /{$}", ViewPayments, s.dashboard},

		// Payments.
		{"GET /payments", ViewPayments, s.paymentsList},
		{"GET /payments.csv", ViewPayments, s.paymentsCSV},
		{"GET /payments/{id}", ViewPayments, s.paymentShow},
		{"POST /payments/{id}/refresh", ViewPayments, s.paymentRefresh},
		{"GET /payments/{id}/cancel", Act, s.paymentCancelForm},
		{"POST /payments/{id}/cancel", Act, s.paymentCancel},
		{"GET /payments/{id}/expire", Act, s.paymentExpireForm},
		{"POST /payments/{id}/expire", Act, s.paymentExpire},
		{"GET /payments/{id}/refund", Act, s.paymentRefundForm},
		{"POST /payments/{id}/refund", Act, s.paymentRefund},
		{"GET /payments/{id}/refund/rules", Act, s.paymentRefundRules},
		{"POST /payments/{id}/payer-links", Act, s.payerLinkCreate},
		{"GET /payments/{id}/payer-links", ViewPayments, s.payerLinksFragment},
		{"POST /payments/{id}/payer-links/{link}/email", Act, s.payerLinkEmail},
		{"GET /payer-links/{id}/qr.png", Act, s.payerLinkQR},
		{"POST /payments/{id}/notes", Act, s.paymentNoteAdd},
		{"POST /payments/{id}/notes/{note}/edit", Act, s.paymentNoteEdit},
		{"GET /my-refunds", Act, s.myRefunds},

		// Customers: every payment of one e-mail, name or card (customers.go).
		{"GET /customers/email/{email}", ViewPayments, s.customerByEmail},
		{"GET /customers/name/{name}", ViewPayments, s.customerByName},
		{"GET /customers/card/{provider}/{last4}", ViewPayments, s.customerByCard},
		// Notifications: each person's own (and the managers' for managers).
		{"GET /notifications", ViewPayments, s.notificationsPage},
		{"GET /notifications/{id}", ViewPayments, s.notificationOpen},
		{"POST /notifications/{id}/read", ViewPayments, s.notificationRead},
		{"POST /notifications/read-all", ViewPayments, s.notificationsReadAll},
		// Saved views of the payments list (the Desk decides who changes which:
		// ops/saved_views.go).
		{"GET /views", ViewPayments, s.viewsPage},
		{"POST /views", ViewPayments, s.viewSave},
		{"POST /views/{id}/rename", ViewPayments, s.viewRename},
		{"POST /views/{id}/query", ViewPayments, s.viewReplaceQuery},
		{"POST /views/{id}/share", ViewPayments, s.viewShare},
		{"POST /views/{id}/delete", ViewPayments, s.viewDelete},

		// Batches of refunds and cancellations: a dry run kept as a draft (batches.go);
		// support and managers make them, everyone who sees payments reads them.
		{"GET /batches", ViewPayments, s.batchesPage},
		{"GET /batches/new", Act, s.batchNew},
		{"POST /batches/preview", Act, s.batchPreview},
		{"POST /batches/from-list", Act, s.batchFromList},
		{"GET /batches/{id}", ViewPayments, s.batchShow},
		// Running a batch (batch_run.go): its maker requests it, another manager approves
		// or rejects it when a rule says so, its maker or a manager cancels or stops it.
		{"POST /batches/{id}/request", Act, s.batchRequest},
		{"POST /batches/{id}/approve", Approve, s.batchApprove},
		{"POST /batches/{id}/reject", Approve, s.batchReject},
		{"POST /batches/{id}/cancel", Act, s.batchCancel},
		{"POST /batches/{id}/retry", Act, s.batchRetry},
		{"GET /batches/{id}/progress", ViewPayments, s.batchProgressFragment},
		{"GET /batches/{id}/results.csv", ViewPayments, s.batchResultsCSV},

		// Refund approvals (managers).
		{"GET /approvals", Approve, s.approvalsQueue},
		{"POST /approvals/{id}/approve", Approve, s.approvalApprove},
		{"POST /approvals/{id}/reject", Approve, s.approvalReject},

		// Refund history (finance, managers).
		{"GET /refunds", Finance, s.refundsHistory},
		{"GET /refunds.csv", Finance, s.refundsCSV},

		// Audit log (finance, managers).
		{"GET /audit", AuditLog, s.auditLog},
		{"GET /audit.csv", AuditLog, s.auditCSV},

		// The payer's return from the provider (public: the payer has no Paydesk account).
		{"GET /payer/return", Public, s.payerReturn},
		// Short payer addresses (public: the token is the secret).
		{"GET /p/{token}", Public, s.payerShortOpen},
		{"POST /p/{token}", Public, s.payerShortContinue},
	}
	// Provider webhooks, one route per registered provider (public: each is verified by
	// the provider's own receiver, see webhooks.go).
	// Each account has its own URL; the provider's own is its default account's.
	for _, n := range providers.Names {
		routes = append(routes, Route{"POST " + providers.WebhookPath(n), Public, s.webhookHandler(n)},
			Route{"POST " + providers.AccountWebhookPath(n, "{account}"), Public, s.webhookHandler(n)})
	}
	return routes
}
