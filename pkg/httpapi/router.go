package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Route binds an operation to a method and a path pattern. Pattern segments
// are literals, {name} (one segment) or a final {name+} (the rest of the
// path), as in API Gateway resource paths.
type Route struct {
	// Operation names the use case; each Lambda function serves one.
	Operation string
	Method    string
	Pattern   string
	Handler   ports.Handler
	// Legacy marks a route of the API the service replaced, kept for its
	// clients until a stage retires it.
	Legacy bool
}

// Select returns the routes of the given operations, in order; with none
// given, all of them.
func Select(routes []Route, operations ...string) []Route {
	if len(operations) == 0 {
		return routes
	}
	var out []Route
	for _, r := range routes {
		for _, op := range operations {
			if r.Operation == op {
				out = append(out, r)
			}
		}
	}
	return out
}

// Router dispatches requests to routes. It answers 404 route_not_found for
// unknown paths and 405 method_not_allowed (with Allow) for known paths
// asked with another method.
type Router struct {
	routes []compiledRoute
}

type compiledRoute struct {
	Route
	segments []string
}

// NewRouter returns a router over routes. It panics on a malformed pattern,
// which is a programming error caught by every test that builds the router.
func NewRouter(routes ...Route) *Router {
	r := &Router{}
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Pattern, "/") {
			panic("httpapi: pattern must start with /: " + rt.Pattern)
		}
		segs := splitPath(rt.Pattern)
		for i, s := range segs {
			if strings.HasSuffix(s, "+}") && i != len(segs)-1 {
				panic("httpapi: greedy parameter must be last: " + rt.Pattern)
			}
		}
		r.routes = append(r.routes, compiledRoute{Route: rt, segments: segs})
	}
	return r
}

// Routes returns the routes in the order they were given.
func (r *Router) Routes() []Route {
	out := make([]Route, len(r.routes))
	for i, rt := range r.routes {
		out[i] = rt.Route
	}
	return out
}

// Handle implements ports.Handler.
func (r *Router) Handle(ctx context.Context, req ports.Request) (ports.Response, error) {
	path := splitPath(req.Path)
	var allow []string
	for _, rt := range r.routes {
		params, ok := match(rt.segments, path)
		if !ok {
			continue
		}
		if rt.Method != req.Method {
			allow = append(allow, rt.Method)
			continue
		}
		req.PathParams = params
		setRoute(ctx, rt.Method+" "+rt.Pattern)
		if err := checkParameters(req); err != nil {
			return ports.Response{}, err
		}
		return rt.Handler.Handle(ctx, req)
	}
	if len(allow) > 0 {
		e := Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method %s is not allowed here", sanitizeMethod(req.Method))
		e.Allow = allow
		return ports.Response{}, e
	}
	return ports.Response{}, NewError(http.StatusNotFound, CodeRouteNotFound, "no route matches this path")
}

func sanitizeMethod(m string) string {
	if len(m) > 16 {
		m = m[:16]
	}
	return strings.ToValidUTF8(m, "?")
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func match(pattern, path []string) (map[string]string, bool) {
	var params map[string]string
	for i, seg := range pattern {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "+}") {
			if i >= len(path) {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[seg[1:len(seg)-2]] = strings.Join(path[i:], "/")
			return params, true
		}
		if i >= len(path) {
			return nil, false
		}
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			if path[i] == "" {
				return nil, false
			}
			if params == nil {
				params = make(map[string]string, 2)
			}
			params[seg[1:len(seg)-1]] = path[i]
			continue
		}
		if seg != path[i] {
			return nil, false
		}
	}
	return params, len(pattern) == len(path)
}
