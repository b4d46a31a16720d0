//! [`ScriptHost`], the interface the dialog core calls, and [`RhaiHost`], its implementation.
//!
//! # What the core should do when a script fails
//!
//! Every method returns `Err(ScriptError)` instead of panicking, and the host has already
//! logged it (`warn`, with file:line). The core then continues on a safe path:
//!
//! - `if` condition fails → treat the case as not matching (fall through to the next case).
//! - `validate` fails → treat the value as invalid (reprompt; `max_attempts` still applies).
//! - `set` fails → leave the slot unchanged and continue.
//! - `call` step fails → go to its `on_failure`, or the business fallback flow.
//! - `before_booking` fails → the booking is refused (fail closed) and the call goes to the
//!   handoff flow; the error is recorded.
//! - `on_slot` fails → keep the value as understood (accept).

use std::sync::Arc;

use rhai::{CallFnOptions, Dynamic, Scope};
use serde_json::Value;
use vartalaap_config::BusinessSnapshot;
use vartalaap_config::model::flow::{Call, Expr};
use vartalaap_config::model::plugin::Plugin;

use crate::error::{ExprAt, Limit, Location, ScriptError};
use crate::hooks::{HookDecision, SlotDecision};
use crate::runtime::{CompiledPlugin, ScriptRuntime};
use crate::sandbox::RunGuard;
use crate::scope::{
    BusinessDyn, ScriptScope, Site, describe, from_dynamic, oversized, rhai_scope, to_dynamic,
};
use crate::uses::BusinessUse;

/// Runs flow expressions and plugin functions for one business, within the sandbox limits.
///
/// Object-safe and `Send + Sync`, so the core can hold an `Arc<dyn ScriptHost>`. Calls are
/// synchronous and bounded by the limits (50 ms of CPU time by default).
pub trait ScriptHost: Send + Sync {
    /// Evaluates a flow expression to JSON (`()` becomes `null`).
    fn eval(
        &self,
        expr: &Expr,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError>;

    /// Evaluates a condition (`when`, `validate`).
    ///
    /// No truthiness: only `true` and `false` are conditions. Anything else (a number, a
    /// string, `()` from a missing slot) is a [`ScriptError::BadReturn`] naming the expression,
    /// the flow file and the step, so an author sees the mistake instead of a silent `false`.
    fn eval_bool(
        &self,
        expr: &Expr,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<bool, ScriptError> {
        match self.eval(expr, site, scope)? {
            Value::Bool(b) => Ok(b),
            other => {
                let e = site.expr_at(expr);
                Err(logged(ScriptError::BadReturn {
                    at: e.at,
                    what: format!("condition {}", e.note),
                    expected: "true or false".into(),
                    found: describe(&other),
                }))
            }
        }
    }

    /// Calls `plugin.function(args…)` for a flow's `call` step; `args` are the already
    /// evaluated argument expressions.
    fn call(
        &self,
        plugin: &str,
        function: &str,
        args: Vec<Value>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError>;

    /// Runs a flow's `call` step: evaluates its argument expressions and calls the function.
    ///
    /// Prefer this to [`ScriptHost::call`] when the arguments are expressions:
    /// [`RhaiHost`] passes them to the plugin without a round trip through JSON, which
    /// matters when a flow passes the whole `business` document.
    fn call_step(
        &self,
        call: &Call,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        let args = call
            .args
            .iter()
            .map(|a| self.eval(a, site, scope))
            .collect::<Result<Vec<_>, _>>()?;
        self.call(&call.plugin, &call.function, args, scope)
    }

    /// Asks every plugin defining `before_booking` whether `reservation` (the slots about to
    /// be booked) may be booked. The first denial wins; no hook means allowed.
    fn before_booking(
        &self,
        reservation: &Value,
        scope: &ScriptScope<'_>,
    ) -> Result<HookDecision, ScriptError>;

    /// Asks every plugin defining `on_slot` about a newly understood slot value. Changes feed
    /// into the next plugin; the first rejection wins; no hook means accepted.
    fn on_slot(
        &self,
        name: &str,
        value: &Value,
        scope: &ScriptScope<'_>,
    ) -> Result<SlotDecision, ScriptError>;
}

/// A plugin as compiled by the sandbox, or why it could not be.
type Sandboxed = Result<Arc<CompiledPlugin>, ScriptError>;

/// The business document, held by whichever owner the host was built from.
#[derive(Debug)]
enum Document {
    Snapshot(Arc<BusinessSnapshot>),
    Value(Arc<Value>),
}

impl Document {
    fn get(&self) -> &Value {
        match self {
            Document::Snapshot(s) => &s.document,
            Document::Value(v) => v,
        }
    }
}

/// [`ScriptHost`] over the sandboxed Rhai runtime, for one business snapshot.
///
/// Build one per snapshot (a hot reload makes a new one; conversations keep theirs). Building
/// compiles the business's plugins through the runtime's cache and converts the business
/// document to Rhai once; each evaluation then clones that value into a fresh scope.
#[derive(Debug)]
pub struct RhaiHost {
    runtime: Arc<ScriptRuntime>,
    /// In the order the business lists them (hook order).
    plugins: Vec<(Arc<Plugin>, Sandboxed)>,
    document: Document,
    business: BusinessDyn,
}

impl RhaiHost {
    /// The host for a loaded business.
    pub fn new(runtime: Arc<ScriptRuntime>, snapshot: Arc<BusinessSnapshot>) -> Self {
        let plugins: Vec<Arc<Plugin>> = snapshot
            .business
            .plugins
            .iter()
            .filter_map(|id| snapshot.plugin(id).cloned())
            .collect();
        Self::build(runtime, plugins, Document::Snapshot(snapshot))
    }

    /// A host over explicit plugins and business document (tests, `vartalaap validate`).
    pub fn from_parts(
        runtime: Arc<ScriptRuntime>,
        plugins: Vec<Arc<Plugin>>,
        business: Arc<Value>,
    ) -> Self {
        Self::build(runtime, plugins, Document::Value(business))
    }

    fn build(runtime: Arc<ScriptRuntime>, plugins: Vec<Arc<Plugin>>, document: Document) -> Self {
        let plugins = plugins
            .iter()
            .map(|p| (p.clone(), runtime.plugin(p).map_err(logged)))
            .collect();
        let business = BusinessDyn::new(document.get()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "Business document could not be given to scripts.");
            BusinessDyn::empty()
        });
        RhaiHost {
            runtime,
            plugins,
            document,
            business,
        }
    }

    /// Errors of plugins that did not compile in the sandbox (empty when all are usable).
    pub fn plugin_errors(&self) -> Vec<&ScriptError> {
        self.plugins
            .iter()
            .filter_map(|(_, p)| p.as_ref().err())
            .collect()
    }

    /// The runtime this host runs on.
    pub fn runtime(&self) -> &Arc<ScriptRuntime> {
        &self.runtime
    }

    /// `business` as an expression with these uses needs it: from the cache when it is this
    /// host's document (the normal case), converted otherwise.
    fn business_for(
        &self,
        business: &Value,
        uses: &BusinessUse,
    ) -> Result<Option<Dynamic>, String> {
        if std::ptr::eq(business, self.document.get()) {
            return Ok(self.business.for_use(uses));
        }
        match uses {
            BusinessUse::None => Ok(None),
            BusinessUse::Whole => to_dynamic(business).map(Some),
            BusinessUse::Keys(keys) => {
                let mut map = rhai::Map::new();
                for key in keys {
                    if let Some(v) = business.get(key) {
                        map.insert(key.as_str().into(), to_dynamic(v)?);
                    }
                }
                Ok(Some(map.into()))
            }
        }
    }

    /// The whole business document for a hook argument.
    fn whole_business(&self, business: &Value) -> Dynamic {
        if std::ptr::eq(business, self.document.get()) {
            self.business.whole()
        } else {
            to_dynamic(business).unwrap_or(Dynamic::UNIT)
        }
    }

    /// Converts a `call` argument; an argument equal to the business document (a flow passing
    /// `business`) reuses the cached conversion.
    fn argument(&self, value: &Value) -> Result<Dynamic, String> {
        if value == self.document.get() {
            Ok(self.business.whole())
        } else {
            to_dynamic(value)
        }
    }

    fn plugin(&self, id: &str) -> Result<&Arc<CompiledPlugin>, ScriptError> {
        match self.plugins.iter().find(|(p, _)| p.id == id) {
            Some((_, Ok(p))) => Ok(p),
            Some((_, Err(e))) => Err(e.clone()),
            None => Err(ScriptError::UnknownPlugin {
                plugin: id.to_string(),
            }),
        }
    }

    /// Evaluates an expression to a Rhai value (no JSON conversion).
    fn eval_dynamic(
        &self,
        expr: &Expr,
        e: &ExprAt,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<Dynamic, ScriptError> {
        let limits = &self.runtime.limits;
        let compiled = self
            .runtime
            .expression(&expr.source)
            .map_err(|err| logged(ScriptError::from_parse(&err, site.file, Some(e))))?;
        let runtime_err = |message: String| ScriptError::Runtime {
            at: e.at.clone(),
            message: format!("{message} (in {})", e.note),
        };
        let business = self
            .business_for(scope.business, &compiled.uses.business)
            .map_err(|m| logged(runtime_err(m)))?;
        let mut rscope =
            rhai_scope(scope, &compiled.uses, business).map_err(|m| logged(runtime_err(m)))?;
        let result = {
            let _run = RunGuard::enter(&*self.runtime.clock, limits, site.file.into());
            self.runtime
                .engine
                .eval_ast_with_scope::<Dynamic>(&mut rscope, &compiled.ast)
        };
        result.map_err(|err| logged(ScriptError::from_rhai(&err, site.file, Some(e), limits)))
    }

    /// Checks and runs `plugin.function(args)`.
    fn call_dynamic(
        &self,
        plugin: &str,
        function: &str,
        args: Vec<Dynamic>,
    ) -> Result<Value, ScriptError> {
        let compiled = self.plugin(plugin).map_err(logged)?;
        if !compiled.has_function(function, args.len()) {
            return Err(logged(ScriptError::MissingFunction {
                file: compiled.file().to_string(),
                plugin: plugin.to_string(),
                function: function.to_string(),
                arity: args.len(),
            }));
        }
        self.run(compiled, function, args).map_err(logged)
    }

    /// Runs `function` of `plugin` with `args` under the limits.
    fn run(
        &self,
        plugin: &CompiledPlugin,
        function: &str,
        args: Vec<Dynamic>,
    ) -> Result<Value, ScriptError> {
        let file = plugin.file();
        // Functions see only their arguments (Rhai functions never see the caller's scope);
        // top-level code outside functions is not run (a plugin is a library of functions).
        let result = {
            let _run = RunGuard::enter(
                &*self.runtime.clock,
                &self.runtime.limits,
                plugin.file.clone(),
            );
            self.runtime.engine.call_fn_with_options::<Dynamic>(
                CallFnOptions::new().eval_ast(false),
                &mut Scope::new(),
                &plugin.ast,
                function,
                args,
            )
        };
        let value = result.map_err(|e| {
            let mut err = ScriptError::from_rhai(&e, file, None, &self.runtime.limits);
            place_in_function(&mut err, plugin, function);
            err
        })?;
        let at = Location {
            file: file.to_string(),
            line: plugin.function_line(function),
            col: None,
        };
        let value = from_dynamic(&value).map_err(|found| ScriptError::BadReturn {
            at: at.clone(),
            what: format!("{}.{function}", plugin.id()),
            expected: "a value made of maps, arrays, strings, numbers and booleans".into(),
            found,
        })?;
        match oversized(&value, &self.runtime.limits) {
            Some(detail) => Err(ScriptError::LimitExceeded {
                which: Limit::Size,
                at,
                detail: format!("{detail} (in fn {function})"),
            }),
            None => Ok(value),
        }
    }

    /// Calls `hook` in every plugin that defines it with one of `arities` (most parameters
    /// first); `full_args` are all the parameters the hook can take, in order.
    fn each_hook(
        &self,
        hook: &str,
        arities: &[usize],
        full_args: &[Dynamic],
        mut visit: impl FnMut(&CompiledPlugin, Value) -> Result<bool, ScriptError>,
    ) -> Result<(), ScriptError> {
        for (source, plugin) in &self.plugins {
            let plugin = match plugin {
                Ok(p) => p,
                // A broken plugin that defines the hook must not be skipped silently (a
                // broken booking policy would allow everything).
                Err(e) if source.functions.contains_key(hook) => return Err(e.clone()),
                Err(_) => continue,
            };
            let Some(&arity) = arities.iter().find(|&&n| plugin.has_function(hook, n)) else {
                continue;
            };
            let value = self
                .run(plugin, hook, full_args[..arity].to_vec())
                .map_err(logged)?;
            if !visit(plugin, value)? {
                break;
            }
        }
        Ok(())
    }
}

impl ScriptHost for RhaiHost {
    fn eval(
        &self,
        expr: &Expr,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        let e = site.expr_at(expr);
        let value = self.eval_dynamic(expr, &e, site, scope)?;
        let value = from_dynamic(&value).map_err(|found| {
            logged(ScriptError::BadReturn {
                at: e.at.clone(),
                what: format!("expression {}", e.note),
                expected: "a value made of maps, arrays, strings, numbers and booleans".into(),
                found,
            })
        })?;
        match oversized(&value, &self.runtime.limits) {
            Some(detail) => Err(logged(ScriptError::LimitExceeded {
                which: Limit::Size,
                at: e.at,
                detail: format!("{detail} (in {})", e.note),
            })),
            None => Ok(value),
        }
    }

    fn call_step(
        &self,
        call: &Call,
        site: &Site<'_>,
        scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        let args = call
            .args
            .iter()
            .map(|a| self.eval_dynamic(a, &site.expr_at(a), site, scope))
            .collect::<Result<Vec<_>, _>>()?;
        self.call_dynamic(&call.plugin, &call.function, args)
    }

    fn call(
        &self,
        plugin: &str,
        function: &str,
        args: Vec<Value>,
        // Plugin functions see only their arguments; the scope is for hosts that need it.
        _scope: &ScriptScope<'_>,
    ) -> Result<Value, ScriptError> {
        let file = self
            .plugin(plugin)
            .map(|p| p.file().to_string())
            .unwrap_or_default();
        let args = args
            .iter()
            .map(|a| self.argument(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| {
                logged(ScriptError::Runtime {
                    at: Location {
                        file,
                        line: None,
                        col: None,
                    },
                    message,
                })
            })?;
        self.call_dynamic(plugin, function, args)
    }
    fn before_booking(
        &self,
        reservation: &Value,
        scope: &ScriptScope<'_>,
    ) -> Result<HookDecision, ScriptError> {
        // No plugin defines the hook: skip copying the business document for nobody.
        if !self
            .plugins
            .iter()
            .any(|(source, _)| source.functions.contains_key("before_booking"))
        {
            return Ok(HookDecision::allowed());
        }
        let business = self.whole_business(scope.business);
        let reservation = to_dynamic(reservation).unwrap_or(Dynamic::UNIT);
        let args = [reservation, business, Dynamic::from(scope.lang.to_string())];
        let mut decision = HookDecision::allowed();
        self.each_hook("before_booking", &[3, 2, 1], &args, |plugin, value| {
            let at = Location {
                file: plugin.file().to_string(),
                line: None,
                col: None,
            };
            let d = HookDecision::parse(&value, &at, &format!("{}.before_booking", plugin.id()))
                .map_err(logged)?;
            if d.allow {
                return Ok(true);
            }
            decision = HookDecision {
                plugin: Some(plugin.id().to_string()),
                ..d
            };
            Ok(false)
        })?;
        Ok(decision)
    }

    fn on_slot(
        &self,
        name: &str,
        value: &Value,
        scope: &ScriptScope<'_>,
    ) -> Result<SlotDecision, ScriptError> {
        // Converted on first use: most businesses have no `on_slot` hook taking `business`, and
        // the copy is the dearest part of a hook call.
        let mut business: Option<Dynamic> = None;
        let mut current = value.clone();
        let mut rejected = None;
        // Plugins run one at a time so each sees the value the previous one may have changed.
        for (source, plugin) in &self.plugins {
            let plugin = match plugin {
                Ok(p) => p,
                Err(e) if source.functions.contains_key("on_slot") => return Err(e.clone()),
                Err(_) => continue,
            };
            let Some(&arity) = [4, 3, 2]
                .iter()
                .find(|&&n| plugin.has_function("on_slot", n))
            else {
                continue;
            };
            let mut args = vec![
                Dynamic::from(name.to_string()),
                to_dynamic(&current).unwrap_or(Dynamic::UNIT),
            ];
            if arity >= 3 {
                args.push(
                    business
                        .get_or_insert_with(|| self.whole_business(scope.business))
                        .clone(),
                );
            }
            if arity >= 4 {
                args.push(Dynamic::from(scope.lang.to_string()));
            }
            let result = self.run(plugin, "on_slot", args).map_err(logged)?;
            let at = Location {
                file: plugin.file().to_string(),
                line: None,
                col: None,
            };
            match SlotDecision::parse(&result, &at, &format!("{}.on_slot", plugin.id()))
                .map_err(logged)?
            {
                SlotDecision::Accept => {}
                SlotDecision::Change(new) => current = new,
                SlotDecision::Reject(message) => {
                    rejected = Some(message);
                    break;
                }
            }
        }
        Ok(match rejected {
            Some(message) => SlotDecision::Reject(message),
            None if &current == value => SlotDecision::Accept,
            None => SlotDecision::Change(current),
        })
    }
}

/// Gives a position-less error the line of the function that was called, and names it.
fn place_in_function(err: &mut ScriptError, plugin: &CompiledPlugin, function: &str) {
    let (at, text) = match err {
        ScriptError::LimitExceeded { at, detail, .. } => (at, detail),
        ScriptError::Runtime { at, message } => (at, message),
        _ => return,
    };
    if at.line.is_none() {
        at.line = plugin.function_line(function);
        at.col = None;
        text.push_str(&format!(" (in fn {function})"));
    }
}

/// Logs a script failure once, where it is detected, and passes it on.
fn logged(err: ScriptError) -> ScriptError {
    tracing::warn!(error = %err, "Script failed; the conversation continues on its safe path.");
    err
}
