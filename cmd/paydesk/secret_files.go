package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// withSecretFiles returns getenv with container secrets: a variable that is not set is
// read from the file named by the same variable with _FILE appended
// (PAYDESK_LINK_SECRET_FILE=/run/secrets/link-secret), without its final line break.
// Setting both, or naming a file that cannot be read or is empty, is a configuration
// error, collected in *errs as each variable is read (README, "Configuration").
func withSecretFiles(getenv func(string) string) (func(string) string, *[]error) {
	errs := &[]error{}
	seen := map[string]string{}
	return func(key string) string {
		if v, ok := seen[key]; ok {
			return v
		}
		v := getenv(key)
		if path := strings.TrimSpace(getenv(key + "_FILE")); path != "" {
			switch secret, err := readSecretFile(path); {
			case strings.TrimSpace(v) != "":
				*errs = append(*errs, fmt.Errorf("%s and %s_FILE are both set: keep one", key, key))
			case err != nil:
				*errs = append(*errs, fmt.Errorf("%s_FILE: %w", key, err))
			default:
				v = secret
			}
		}
		seen[key] = v
		return v
	}, errs
}

// readSecretFile reads a secret kept in a file (a container secret): its content without
// the final line break; a file that cannot be read or holds nothing is an error.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("%s cannot be read: %v", path, err)
	}
	val := strings.TrimRight(string(b), "\r\n")
	if strings.TrimSpace(val) == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return val, nil
}
