package domain

import (
	"strconv"
	"strings"
)

// currencies maps the active ISO 4217 currency codes to their number of
// minor-unit digits (2 unless listed otherwise in the standard).
var currencies = func() map[string]int {
	m := make(map[string]int, 180)
	for _, c := range []string{
		"AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN",
		"BAM", "BBD", "BDT", "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD",
		"BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY",
		"COP", "COU", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP",
		"ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD",
		"GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR",
		"JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR",
		"LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU",
		"MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
		"NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR",
		"RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP",
		"SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS",
		"TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU",
		"UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
	} {
		m[c] = 2
	}
	for _, c := range []string{
		"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
		"UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
	} {
		m[c] = 0
	}
	for _, c := range []string{"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"} {
		m[c] = 3
	}
	for _, c := range []string{"CLF", "UYW"} {
		m[c] = 4
	}
	return m
}()

// MinorDigits returns the number of minor-unit digits of an ISO 4217
// currency code and whether the code is known.
func MinorDigits(code string) (int, bool) {
	d, ok := currencies[code]
	return d, ok
}

// ParseMajor converts a decimal amount in major units ("150", "150.75") to
// minor units of currency. It refuses signs, exponents and more decimals than
// the currency has.
func ParseMajor(s, currency string) (int64, error) {
	digits, ok := MinorDigits(currency)
	if !ok {
		return 0, invalid("currency", "must be an active ISO 4217 code such as USD or EUR")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 15 || (hasDot && (frac == "" || len(frac) > digits)) || !allDigits(whole) || !allDigits(frac) {
		return 0, invalid("claimAmount", "must be a positive decimal amount with at most %d decimals", digits)
	}
	for len(frac) < digits {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, invalid("claimAmount", "is too large")
	}
	return n, nil
}

// FormatMajor renders minor units of currency as a decimal in major units.
func FormatMajor(minor int64, currency string) string {
	digits, _ := MinorDigits(currency)
	s := strconv.FormatInt(minor, 10)
	if digits == 0 {
		return s
	}
	for len(s) <= digits {
		s = "0" + s
	}
	return s[:len(s)-digits] + "." + s[len(s)-digits:]
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
