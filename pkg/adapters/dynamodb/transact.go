package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// expr collects the names and values of one write's expressions.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
}

func newExpr(now int64) *expr {
	return &expr{
		names:  map[string]string{"#pk": AttrPartition, "#v": AttrVersion, "#ex": AttrExpiresAt},
		values: map[string]types.AttributeValue{":now": num(now)},
	}
}

// existing is the condition of a patch or delete: the item is there and
// live, at the version (when given), and meets conds.
func (e *expr) existing(version int64, conds []ports.Condition) string {
	cond := []string{"attribute_exists(#pk)", "(attribute_not_exists(#ex) OR #ex > :now)"}
	if version > 0 {
		cond = append(cond, "#v = :expected")
		e.values[":expected"] = num(version)
	}
	for i, c := range conds {
		n := fmt.Sprintf("#c%d", i)
		e.names[n] = c.Attribute
		opts := c.OneOf
		if opts == nil {
			opts = []any{c.Equals}
		}
		vs := make([]string, 0, len(opts))
		for j, o := range opts {
			v := fmt.Sprintf(":c%d_%d", i, j)
			e.values[v] = toAV(o)
			vs = append(vs, v)
		}
		cond = append(cond, n+" IN ("+strings.Join(vs, ", ")+")")
	}
	return strings.Join(cond, " AND ")
}

// set is the update expression of a patch: the attributes, the next
// version and the write id.
func (e *expr) set(attrs ports.Attributes, write string) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sets := make([]string, 0, len(keys)+2)
	for i, k := range keys {
		n, v := fmt.Sprintf("#a%d", i), fmt.Sprintf(":a%d", i)
		e.names[n], e.values[v] = k, toAV(attrs[k])
		sets = append(sets, n+" = "+v)
	}
	e.names["#w"], e.values[":w"], e.values[":one"] = AttrWrite, &types.AttributeValueMemberS{Value: write}, num(1)
	return "SET " + strings.Join(append(sets, "#v = #v + :one", "#w = :w"), ", ")
}

// used keeps only the names and values an expression refers to: DynamoDB
// refuses unused ones.
func (e *expr) used(exprs ...string) (map[string]string, map[string]types.AttributeValue) {
	all := strings.Join(exprs, " ")
	names := map[string]string{}
	for k, v := range e.names {
		if containsToken(all, k) {
			names[k] = v
		}
	}
	values := map[string]types.AttributeValue{}
	for k, v := range e.values {
		if containsToken(all, k) {
			values[k] = v
		}
	}
	return names, values
}

// containsToken reports whether s holds tok not followed by another name
// character (":a1" is not in ":a10").
func containsToken(s, tok string) bool {
	for i := strings.Index(s, tok); i >= 0; {
		end := i + len(tok)
		if end == len(s) || !isNameChar(s[end]) {
			return true
		}
		next := strings.Index(s[end:], tok)
		if next < 0 {
			return false
		}
		i = end + next
	}
	return false
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Transact implements ports.Table with one TransactWriteItems call. The SDK
// gives every call an idempotency token it keeps across its own retries, so
// a retried transaction that had succeeded succeeds again instead of
// failing its conditions.
func (t *Table) Transact(ctx context.Context, writes ...ports.Write) error {
	writes, err := ports.CheckWrites(writes)
	if err != nil {
		return err
	}
	now := t.now().Unix()
	// One write id for every item the transaction puts or updates: when the
	// SDK retries a transaction whose first attempt succeeded but whose
	// answer was lost, the retry fails its conditions against items that
	// carry this id, which proves the transaction was applied (it is
	// atomic). DynamoDB's own idempotency token does the same where the
	// service honours it.
	write := newWriteID()
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld
	items := make([]types.TransactWriteItem, 0, len(writes))
	for _, w := range writes {
		e := newExpr(now)
		switch {
		case w.Create != nil:
			it := *w.Create
			it.Version = 1
			cond := "attribute_not_exists(#pk) OR #ex <= :now"
			names, values := e.used(cond)
			items = append(items, types.TransactWriteItem{Put: &types.Put{
				TableName: aws.String(t.name), Item: marshal(it, write),
				ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
				ReturnValuesOnConditionCheckFailure: allOld,
			}})
		case w.Patch != nil:
			cond := e.existing(w.Patch.ExpectedVersion, w.Patch.Conditions)
			update := e.set(w.Patch.Attributes, write)
			if !w.Patch.ExpiresAt.IsZero() {
				e.names["#ex"], e.values[":exp"] = AttrExpiresAt, num(w.Patch.ExpiresAt.Unix())
				update += ", #ex = :exp"
			}
			names, values := e.used(cond, update)
			items = append(items, types.TransactWriteItem{Update: &types.Update{
				TableName: aws.String(t.name), Key: keyAV(w.Patch.Key),
				UpdateExpression: aws.String(update), ConditionExpression: aws.String(cond),
				ExpressionAttributeNames: names, ExpressionAttributeValues: values,
				ReturnValuesOnConditionCheckFailure: allOld,
			}})
		default:
			cond := e.existing(w.Delete.ExpectedVersion, w.Delete.Conditions)
			names, values := e.used(cond)
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{
				TableName: aws.String(t.name), Key: keyAV(w.Delete.Key),
				ConditionExpression: aws.String(cond), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
				ReturnValuesOnConditionCheckFailure: allOld,
			}})
		}
	}
	_, err = t.api.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		for _, r := range canceled.CancellationReasons {
			if sameWrite(r.Item, write) {
				return nil // applied by an attempt whose answer was lost
			}
		}
		for i, r := range canceled.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return fmt.Errorf("transact: %w: %w", &ports.TransactionError{Index: i}, err)
			}
		}
		// Cancelled for another reason (a conflicting transaction in
		// flight, throttling): the caller may retry.
		return fmt.Errorf("dynamodb transact: %w: %w", ports.ErrThrottled, err)
	}
	if err != nil {
		return mapErr("transact", err)
	}
	return nil
}
