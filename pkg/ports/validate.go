package ports

import (
	"fmt"
	"time"
)

// ReservedAttributes are attribute names adapters use for keys, the version
// and the expiry; items may not carry them among their Attributes.
var ReservedAttributes = []string{"PK", "SK", "version", "expiresAt", "writeId"}

// CheckItem validates an item against the port's rules and returns a copy
// whose integer values are all int64. Errors wrap ErrInvalidItem.
func CheckItem(item Item) (Item, error) {
	if item.Key.Partition == "" || item.Key.Sort == "" {
		return Item{}, fmt.Errorf("%w: partition and sort key are required", ErrInvalidItem)
	}
	out := item
	out.Attributes = make(Attributes, len(item.Attributes))
	for name, v := range item.Attributes {
		if name == "" {
			return Item{}, fmt.Errorf("%w: empty attribute name", ErrInvalidItem)
		}
		for _, r := range ReservedAttributes {
			if name == r {
				return Item{}, fmt.Errorf("%w: attribute %q is reserved", ErrInvalidItem, name)
			}
		}
		switch x := v.(type) {
		case string, int64, bool:
			out.Attributes[name] = x
		case int:
			out.Attributes[name] = int64(x)
		case int32:
			out.Attributes[name] = int64(x)
		default:
			return Item{}, fmt.Errorf("%w: attribute %q has unsupported type %T", ErrInvalidItem, name, v)
		}
	}
	if !item.ExpiresAt.IsZero() {
		out.ExpiresAt = time.Unix(item.ExpiresAt.Unix(), 0).UTC()
	}
	return out, nil
}

// CheckPatch validates the attributes and conditions of a Patch and
// returns the attributes with integers as int64. Errors wrap ErrInvalidItem.
func CheckPatch(key Key, attrs Attributes, conds []Condition) (Attributes, error) {
	it, err := CheckItem(Item{Key: key, Attributes: attrs})
	if err != nil {
		return nil, err
	}
	if len(it.Attributes) == 0 {
		return nil, fmt.Errorf("%w: a patch sets at least one attribute", ErrInvalidItem)
	}
	for _, c := range conds {
		values := c.OneOf
		if values == nil {
			values = []any{c.Equals}
		}
		if c.Attribute == "" || len(values) == 0 {
			return nil, fmt.Errorf("%w: condition needs an attribute and a value", ErrInvalidItem)
		}
		for _, v := range values {
			switch v.(type) {
			case string, int64, bool:
			default:
				return nil, fmt.Errorf("%w: condition on %q has unsupported type %T", ErrInvalidItem, c.Attribute, v)
			}
		}
	}
	return it.Attributes, nil
}

// Holds reports whether attrs satisfy every condition.
func Holds(attrs Attributes, conds []Condition) bool {
	for _, c := range conds {
		values := c.OneOf
		if values == nil {
			values = []any{c.Equals}
		}
		ok := false
		for _, v := range values {
			if attrs[c.Attribute] == v {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// CheckQuery validates a query. Errors wrap ErrInvalidItem.
func CheckQuery(q Query) error {
	if q.Partition == "" {
		return fmt.Errorf("%w: query needs a partition", ErrInvalidItem)
	}
	if q.Limit < 1 || q.Limit > MaxQueryLimit {
		return fmt.Errorf("%w: query limit %d outside 1..%d", ErrInvalidItem, q.Limit, MaxQueryLimit)
	}
	for _, c := range q.Where {
		if c.OneOf != nil {
			return fmt.Errorf("%w: query filters take Equals only", ErrInvalidItem)
		}
		switch c.Equals.(type) {
		case string, int64, bool:
		default:
			return fmt.Errorf("%w: filter on %q has unsupported type %T", ErrInvalidItem, c.Attribute, c.Equals)
		}
	}
	return nil
}

// Live reports whether an item with this expiry still exists at now.
func Live(expiresAt, now time.Time) bool {
	return expiresAt.IsZero() || expiresAt.Unix() > now.Unix()
}
