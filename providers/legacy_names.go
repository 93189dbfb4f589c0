package providers

// The three providers' names, kept until every test names the provider's own package
// (powens.Name, bpc.Name, tranzzo.Name); removed after the merge. Code other than tests
// must not use them: it goes through the registry.
const (
	Powens  Name = "powens"
	BPC     Name = "bpc"
	Tranzzo Name = "tranzzo"
)
