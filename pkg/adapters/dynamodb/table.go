// Package dynamodb implements the table port on Amazon DynamoDB with
// aws-sdk-go-v2. Items are stored natively: the key in the string attributes
// PK and SK, the version in the number attribute version, the expiry in the
// number attribute expiresAt (epoch seconds, the table's TTL attribute), the
// id of the write that stored it in writeId (so an SDK retry of a write that
// had succeeded is no conflict), and each port attribute as an S, N or BOOL
// attribute of the same name.
package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/hexlambda/hexlambda/pkg/netfail"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Attribute names of the table layout.
const (
	AttrPartition = "PK"
	AttrSort      = "SK"
	AttrVersion   = "version"
	AttrExpiresAt = "expiresAt"
	// AttrWrite holds the id of the write that stored the item.
	AttrWrite = "writeId"
)

// API is the part of the DynamoDB client the adapter uses.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Table is a ports.Table on one DynamoDB table with string keys PK and SK.
type Table struct {
	api     API
	name    string
	cursors Cursors
	now     func() time.Time
}

// Option configures a Table.
type Option func(*Table)

// WithClock sets the clock used for expiry.
func WithClock(c ports.Clock) Option {
	return func(t *Table) { t.now = c.Now }
}

// WithCursors sets the codec that signs query cursors; every process
// serving the table must share its key. A table without one serves every
// operation but Query, which it refuses (ErrNoCursors): only what pages
// needs a signing key.
func WithCursors(c Cursors) Option {
	return func(t *Table) { t.cursors = c }
}

// Cursors sign and check query cursors (a *pagecursor.Codec, or a
// *pagecursor.Lazy whose key is loaded on first use: Query makes it Ready
// first, and fails as the load failed).
type Cursors interface {
	Encode(q ports.Query, last ports.Key) string
	Decode(q ports.Query, cursor string) (ports.Key, error)
}

type readyCursors interface {
	Ready(ctx context.Context) error
}

// ErrNoCursors is returned by Query on a table built without WithCursors.
var ErrNoCursors = errors.New("dynamodb table: Query needs a cursor codec (WithCursors)")

// NewTable returns the adapter for table name.
func NewTable(api API, name string, opts ...Option) *Table {
	t := &Table{api: api, name: name, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	return t
}

var _ ports.Table = (*Table)(nil)

func keyAV(k ports.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPartition: &types.AttributeValueMemberS{Value: k.Partition},
		AttrSort:      &types.AttributeValueMemberS{Value: k.Sort},
	}
}

func num(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func toAV(v any) types.AttributeValue {
	switch x := v.(type) {
	case string:
		return &types.AttributeValueMemberS{Value: x}
	case int64:
		return num(x)
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}
	default:
		panic(fmt.Sprintf("dynamodb: unchecked attribute type %T", v)) // ports.CheckItem rules this out
	}
}

func marshal(it ports.Item, write string) map[string]types.AttributeValue {
	av := keyAV(it.Key)
	av[AttrWrite] = &types.AttributeValueMemberS{Value: write}
	av[AttrVersion] = num(it.Version)
	if !it.ExpiresAt.IsZero() {
		av[AttrExpiresAt] = num(it.ExpiresAt.Unix())
	}
	for k, v := range it.Attributes {
		av[k] = toAV(v)
	}
	return av
}

func unmarshal(av map[string]types.AttributeValue) (ports.Item, error) {
	it := ports.Item{Attributes: make(ports.Attributes, len(av))}
	for name, v := range av {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			switch name {
			case AttrWrite:
			case AttrPartition:
				it.Key.Partition = x.Value
			case AttrSort:
				it.Key.Sort = x.Value
			default:
				it.Attributes[name] = x.Value
			}
		case *types.AttributeValueMemberN:
			n, err := strconv.ParseInt(x.Value, 10, 64)
			if err != nil {
				return ports.Item{}, fmt.Errorf("attribute %s: non-integer number %q: %w", name, x.Value, ports.ErrInvalidItem)
			}
			switch name {
			case AttrVersion:
				it.Version = n
			case AttrExpiresAt:
				it.ExpiresAt = time.Unix(n, 0).UTC()
			default:
				it.Attributes[name] = n
			}
		case *types.AttributeValueMemberBOOL:
			it.Attributes[name] = x.Value
		default:
			// Attributes of other types are not part of the port's model;
			// another writer may have added them, so they are left out.
		}
	}
	return it, nil
}

// mapErr turns SDK errors into port errors, keeping the SDK error in the
// chain for logs.
func mapErr(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "ThrottlingError":
			return fmt.Errorf("dynamodb %s: %w: %w", op, ports.ErrThrottled, err)
		case "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException":
			return fmt.Errorf("dynamodb %s: %w: %w", op, ports.ErrUnavailable, err)
		}
	}
	if netfail.Unreachable(err) {
		return fmt.Errorf("dynamodb %s: %w: %w", op, ports.ErrUnavailable, err)
	}
	return fmt.Errorf("dynamodb %s: %w", op, err)
}

// conditionFailure reports whether err is a failed condition and, if so,
// whether the old item (returned with ALL_OLD) is live.
func (t *Table) conditionFailure(err error) (failed, oldLive bool) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, false
	}
	if len(ccf.Item) == 0 {
		return true, false
	}
	old, uerr := unmarshal(ccf.Item)
	if uerr != nil {
		return true, true
	}
	return true, ports.Live(old.ExpiresAt, t.now())
}

const liveCondition = "(attribute_not_exists(" + AttrExpiresAt + ") OR " + AttrExpiresAt + " > :now)"

// Get implements ports.Table with a strongly consistent read.
func (t *Table) Get(ctx context.Context, key ports.Key) (ports.Item, error) {
	out, err := t.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            keyAV(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ports.Item{}, mapErr("get", err)
	}
	if len(out.Item) == 0 {
		return ports.Item{}, fmt.Errorf("get %v: %w", key, ports.ErrNotFound)
	}
	it, err := unmarshal(out.Item)
	if err != nil {
		return ports.Item{}, fmt.Errorf("get %v: %w", key, err)
	}
	if !ports.Live(it.ExpiresAt, t.now()) {
		return ports.Item{}, fmt.Errorf("get %v (expired): %w", key, ports.ErrNotFound)
	}
	return it, nil
}

// Create implements ports.Table: a put on the condition that no live item
// has the key (an expired one not yet removed by TTL is overwritten).
func (t *Table) Create(ctx context.Context, item ports.Item) (ports.Item, error) {
	item, err := ports.CheckItem(item)
	if err != nil {
		return ports.Item{}, err
	}
	item.Version = 1
	write := newWriteID()
	_, err = t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(t.name),
		Item:                                marshal(item, write),
		ConditionExpression:                 aws.String("attribute_not_exists(" + AttrPartition + ") OR " + AttrExpiresAt + " <= :now"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": num(t.now().Unix())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if sameWrite(ccf.Item, write) {
				return item, nil
			}
			return ports.Item{}, fmt.Errorf("create %v: %w", item.Key, ports.ErrConflict)
		}
		return ports.Item{}, mapErr("create", err)
	}
	return item, nil
}

// Every write stores a random write id in AttrWrite. When the SDK retries a
// conditional write whose first attempt succeeded but whose answer was lost
// (a timeout, a dropped connection), the retry fails its condition against
// the very item the first attempt stored: the same write id tells that the
// write did happen, and is not a conflict. Writers with identical content
// still conflict, as their ids differ.
func newWriteID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sameWrite reports whether the stored item carries write id.
func sameWrite(stored map[string]types.AttributeValue, write string) bool {
	s, ok := stored[AttrWrite].(*types.AttributeValueMemberS)
	return ok && s.Value == write
}

// Update implements ports.Table: a full put on the condition that the live
// item has the expected version.
func (t *Table) Update(ctx context.Context, item ports.Item, expectedVersion int64) (ports.Item, error) {
	item, err := ports.CheckItem(item)
	if err != nil {
		return ports.Item{}, err
	}
	item.Version = expectedVersion + 1
	write := newWriteID()
	_, err = t.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(t.name),
		Item:                marshal(item, write),
		ConditionExpression: aws.String("attribute_exists(" + AttrPartition + ") AND " + AttrVersion + " = :v AND " + liveCondition),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v":   num(expectedVersion),
			":now": num(t.now().Unix()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) && sameWrite(ccf.Item, write) {
			return item, nil
		}
		if failed, live := t.conditionFailure(err); failed {
			if !live {
				return ports.Item{}, fmt.Errorf("update %v: %w", item.Key, ports.ErrNotFound)
			}
			return ports.Item{}, fmt.Errorf("update %v at version %d: %w", item.Key, expectedVersion, ports.ErrConflict)
		}
		return ports.Item{}, mapErr("update", err)
	}
	return item, nil
}

// Patch implements ports.Table with one conditional UpdateItem.
func (t *Table) Patch(ctx context.Context, key ports.Key, attrs ports.Attributes, expectedVersion int64, conds ...ports.Condition) (ports.Item, error) {
	attrs, err := ports.CheckPatch(key, attrs, conds)
	if err != nil {
		return ports.Item{}, err
	}
	names := map[string]string{"#pk": AttrPartition, "#v": AttrVersion, "#ex": AttrExpiresAt}
	values := map[string]types.AttributeValue{":one": num(1), ":now": num(t.now().Unix())}
	sets := make([]string, 0, len(attrs)+1)
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		n, v := fmt.Sprintf("#a%d", i), fmt.Sprintf(":a%d", i)
		names[n], values[v] = k, toAV(attrs[k])
		sets = append(sets, n+" = "+v)
	}
	sets = append(sets, "#v = #v + :one", "#w = :w")
	write := newWriteID()
	names["#w"], values[":w"] = AttrWrite, &types.AttributeValueMemberS{Value: write}
	cond := []string{"attribute_exists(#pk)", "(attribute_not_exists(#ex) OR #ex > :now)"}
	if expectedVersion > 0 {
		cond = append(cond, "#v = :expected")
		values[":expected"] = num(expectedVersion)
	}
	for i, c := range conds {
		n := fmt.Sprintf("#c%d", i)
		names[n] = c.Attribute
		opts := c.OneOf
		if opts == nil {
			opts = []any{c.Equals}
		}
		var vs []string
		for j, o := range opts {
			v := fmt.Sprintf(":c%d_%d", i, j)
			values[v] = toAV(o)
			vs = append(vs, v)
		}
		cond = append(cond, n+" IN ("+strings.Join(vs, ", ")+")")
	}
	out, err := t.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(t.name),
		Key:                                 keyAV(key),
		UpdateExpression:                    aws.String("SET " + strings.Join(sets, ", ")),
		ConditionExpression:                 aws.String(strings.Join(cond, " AND ")),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if len(ccf.Item) == 0 {
				return ports.Item{}, fmt.Errorf("patch %v: %w", key, ports.ErrNotFound)
			}
			old, uerr := unmarshal(ccf.Item)
			if uerr != nil || !ports.Live(old.ExpiresAt, t.now()) {
				return ports.Item{}, fmt.Errorf("patch %v: %w", key, ports.ErrNotFound)
			}
			if sameWrite(ccf.Item, write) {
				return old, nil
			}
			return ports.Item{}, fmt.Errorf("patch %v: %w", key, &ports.ConditionError{Current: old})
		}
		return ports.Item{}, mapErr("patch", err)
	}
	it, err := unmarshal(out.Attributes)
	if err != nil {
		return ports.Item{}, fmt.Errorf("patch %v: %w", key, err)
	}
	return it, nil
}

// Delete implements ports.Table.
func (t *Table) Delete(ctx context.Context, key ports.Key, expectedVersion int64) error {
	cond := "attribute_exists(" + AttrPartition + ") AND " + liveCondition
	values := map[string]types.AttributeValue{":now": num(t.now().Unix())}
	if expectedVersion > 0 {
		cond += " AND " + AttrVersion + " = :v"
		values[":v"] = num(expectedVersion)
	}
	_, err := t.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                           aws.String(t.name),
		Key:                                 keyAV(key),
		ConditionExpression:                 aws.String(cond),
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		if failed, live := t.conditionFailure(err); failed {
			if !live {
				return fmt.Errorf("delete %v: %w", key, ports.ErrNotFound)
			}
			return fmt.Errorf("delete %v at version %d: %w", key, expectedVersion, ports.ErrConflict)
		}
		return mapErr("delete", err)
	}
	return nil
}

// Query implements ports.Table. It reads until it has one item more than
// the page size (or the partition ends), so NextCursor is set exactly when
// more matching items exist.
func (t *Table) Query(ctx context.Context, q ports.Query) (ports.Page, error) {
	if t.cursors == nil {
		return ports.Page{}, ErrNoCursors
	}
	if r, ok := t.cursors.(readyCursors); ok {
		if err := r.Ready(ctx); err != nil {
			return ports.Page{}, fmt.Errorf("dynamodb table %s: cursor key: %w", t.name, err)
		}
	}
	if err := ports.CheckQuery(q); err != nil {
		return ports.Page{}, err
	}
	in := &dynamodb.QueryInput{
		TableName:        aws.String(t.name),
		ConsistentRead:   aws.Bool(true),
		ScanIndexForward: aws.Bool(!q.Reverse),
		ExpressionAttributeNames: map[string]string{
			"#pk": AttrPartition,
			"#ex": AttrExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  &types.AttributeValueMemberS{Value: q.Partition},
			":now": num(t.now().Unix()),
		},
	}
	keyCond := "#pk = :pk"
	if q.SortPrefix != "" {
		keyCond += " AND begins_with(#sk, :prefix)"
		in.ExpressionAttributeNames["#sk"] = AttrSort
		in.ExpressionAttributeValues[":prefix"] = &types.AttributeValueMemberS{Value: q.SortPrefix}
	}
	in.KeyConditionExpression = aws.String(keyCond)
	filters := []string{"(attribute_not_exists(#ex) OR #ex > :now)"}
	for i, c := range q.Where {
		n, v := fmt.Sprintf("#w%d", i), fmt.Sprintf(":w%d", i)
		in.ExpressionAttributeNames[n] = c.Attribute
		in.ExpressionAttributeValues[v] = toAV(c.Equals)
		filters = append(filters, n+" = "+v)
	}
	in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	if q.Cursor != "" {
		after, err := t.cursors.Decode(q, q.Cursor)
		if err != nil {
			return ports.Page{}, fmt.Errorf("query %s: %w", q.Partition, err)
		}
		in.ExclusiveStartKey = keyAV(after)
	}
	var items []ports.Item
	scanned, budget := 0, q.ScanBudget()
	for len(items) <= q.Limit {
		// DynamoDB's Limit counts the items it reads, matching or not.
		read := budget - scanned
		if len(q.Where) == 0 {
			// Without filters (expired items aside) each read item counts.
			read = min(read, q.Limit+1-len(items))
		}
		in.Limit = aws.Int32(int32(read)) //nolint:gosec // bounded by the scan budget
		out, err := t.api.Query(ctx, in)
		if err != nil {
			return ports.Page{}, mapErr("query", err)
		}
		scanned += int(out.ScannedCount)
		for _, av := range out.Items {
			it, err := unmarshal(av)
			if err != nil {
				return ports.Page{}, fmt.Errorf("query %s: %w", q.Partition, err)
			}
			items = append(items, it)
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		if scanned >= budget && len(items) <= q.Limit {
			// The budget is spent before the page is full: continue after
			// the last item read.
			last, err := unmarshal(out.LastEvaluatedKey)
			if err != nil {
				return ports.Page{}, fmt.Errorf("query %s: %w", q.Partition, err)
			}
			return ports.Page{Items: items, NextCursor: t.cursors.Encode(q, last.Key)}, nil
		}
	}
	page := ports.Page{Items: items}
	if len(items) > q.Limit {
		page.Items = items[:q.Limit]
		page.NextCursor = t.cursors.Encode(q, page.Items[q.Limit-1].Key)
	}
	return page, nil
}
