//! The OpenAPI 3.1 document, built from the same route table that registers the handlers,
//! with request and response schemas generated from the Rust types.

use axum::http::Method;
use lianluo_domain::directory::Role;
use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::error::ErrorBody;

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

fn inline_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    T::json_schema(g)
}

/// One operation of the API: what the router registers and what the document describes.
#[derive(Clone)]
pub struct Op {
    pub method: Method,
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// `None` for public routes.
    pub access: Option<Role>,
    /// Authenticated by a widget visitor's token instead of a user's.
    pub visitor: bool,
    pub status: u16,
    request: Option<SchemaFn>,
    query: Option<SchemaFn>,
    response: Option<SchemaFn>,
}

impl Op {
    pub fn new(method: Method, path: &'static str, id: &'static str, summary: &'static str) -> Self {
        let tag = path.trim_start_matches("/api/v1/").trim_start_matches('/').split('/').next().unwrap_or("");
        Self {
            method,
            path,
            id,
            summary,
            tag,
            access: Some(Role::Agent),
            visitor: false,
            status: 200,
            request: None,
            query: None,
            response: None,
        }
    }

    pub fn public(mut self) -> Self {
        self.access = None;
        self
    }

    /// A route for widget visitors, authenticated by their visitor token.
    pub fn visitor(mut self) -> Self {
        self.access = None;
        self.visitor = true;
        self
    }

    pub fn admin(mut self) -> Self {
        self.access = Some(Role::Admin);
        self
    }

    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.request = Some(schema_of::<T>);
        self
    }

    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(inline_of::<T>);
        self
    }

    pub fn returns<T: JsonSchema>(mut self, status: u16) -> Self {
        self.status = status;
        self.response = Some(schema_of::<T>);
        self
    }

    /// A WebSocket route: answers 101 and switches protocols.
    pub fn switching_protocols(mut self) -> Self {
        self.status = 101;
        self.response = None;
        self
    }

    pub fn no_content(mut self) -> Self {
        self.status = 204;
        self.response = None;
        self
    }

    fn operation(&self, g: &mut SchemaGenerator) -> Value {
        let mut params = Vec::new();
        for seg in self.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                params.push(json!({
                    "name": name, "in": "path", "required": true,
                    "schema": { "type": "string", "format": "uuid" }
                }));
            }
        }
        if let Some(q) = self.query {
            let s = q(g).to_value();
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (name, schema) in props {
                    let mut p = json!({ "name": name, "in": "query", "required": required.contains(&name.as_str()),
                        "schema": schema });
                    if let Some(d) = schema.get("description") {
                        p["description"] = d.clone();
                    }
                    params.push(p);
                }
            }
        }
        let mut op = json!({
            "operationId": self.id,
            "summary": self.summary,
            "tags": [self.tag],
            "parameters": params,
        });
        if let Some(b) = self.request {
            op["requestBody"] =
                json!({ "required": true, "content": { "application/json": { "schema": b(g).to_value() } } });
        }
        let mut responses = Map::new();
        let ok = match self.response {
            Some(r) => {
                json!({ "description": "Success", "content": { "application/json": { "schema": r(g).to_value() } } })
            }
            None if self.status == 101 => json!({ "description": "Switching to the WebSocket protocol" }),
            None => json!({ "description": "Success, no content" }),
        };
        responses.insert(self.status.to_string(), ok);
        let err = g.subschema_for::<ErrorBody>().to_value();
        responses.insert(
            "default".into(),
            json!({ "description": "An error; `error.code` says which", "content": { "application/json": { "schema": err } } }),
        );
        op["responses"] = Value::Object(responses);
        if self.visitor {
            op["security"] = json!([{ "visitor": [] }]);
        } else if let Some(role) = self.access {
            op["security"] = json!([{ "bearer": [] }, { "session": [] }]);
            op["x-required-role"] = json!(role.as_str());
        } else {
            op["security"] = json!([]);
        }
        op
    }
}

/// Builds the whole document from the route table.
pub fn document(ops: &[Op]) -> Value {
    let mut g = SchemaSettings::openapi3().into_generator();
    let mut paths = Map::new();
    for op in ops {
        let entry = paths.entry(op.path.to_string()).or_insert_with(|| json!({}));
        entry[op.method.as_str().to_lowercase()] = op.operation(&mut g);
    }
    let schemas = g.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Lianluo API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The contact-center API: contacts, conversations, messages, users, teams and channels. \
                Every request acts inside the caller's workspace. Errors are `{\"error\": {\"code\", \"message\"}}`."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "An API token (`ll_…`)" },
                "visitor": { "type": "http", "scheme": "bearer",
                    "description": "A widget visitor's token (`vt_…`) from POST /widget/v1/sessions" },
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE,
                    "description": "The browser session; state-changing requests also need the X-CSRF-Token header" }
            }
        }
    })
}
