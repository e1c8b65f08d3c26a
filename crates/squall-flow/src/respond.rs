//! Running a provider's actions on a case: the store opened, the case checked, the driver
//! (`squall_case::respond::Run`: plan → approval → execute → verify → ledger) run, and the
//! outcomes summed up. Every provider's verbs come through here.

use squall_case::Store;
use squall_case::respond::{Action, History, Outcome, Place, Plan, Run, Status};

use crate::Context;

/// The options every response verb shares, whatever the provider.
#[derive(Debug, Clone)]
pub struct Response {
    /// The case the actions are recorded in.
    pub case: String,
    /// The analyst's approval (`--yes`): without it only the plans are produced.
    pub approved: bool,
    /// Resources read or changed at once.
    pub concurrency: usize,
    /// Where the provider's clients act, once connected: recorded with every action.
    pub place: Place,
}

impl Response {
    /// The same options, acting at `place`.
    pub fn at(&self, place: Place) -> Response {
        Response {
            place,
            ..self.clone()
        }
    }
}

/// A plan as the front end shows it before anything runs.
pub struct PlanShown<'a> {
    pub plan: &'a Plan,
    /// The attacker will notice and the case is not triaged yet: say "scope first" (once per
    /// run, at the first such plan).
    pub warn_untriaged: bool,
}

/// The outcomes of a run, one per resource, in the order the resources were given.
#[derive(Debug, Clone)]
pub struct Outcomes {
    pub outcomes: Vec<Outcome>,
    pub approved: bool,
}

impl Outcomes {
    /// How many resources ended so.
    pub fn count(&self, status: Status) -> usize {
        self.outcomes.iter().filter(|o| o.status == status).count()
    }

    /// The resources that failed, to name each with its error.
    pub fn failed(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|o| o.status == Status::Failed)
    }

    /// The line that sums the run up.
    pub fn summary(&self, case: &str) -> String {
        let failed = self.count(Status::Failed);
        if !self.approved {
            format!(
                "nothing changed: add --yes to carry out the plan ({} resource(s){})",
                self.outcomes.len(),
                if failed > 0 {
                    format!(", {failed} could not be planned")
                } else {
                    String::new()
                }
            )
        } else {
            format!(
                "{} verified, {} already done (nothing changed), {} failed — recorded in case {case}",
                self.count(Status::Verified),
                self.count(Status::Unchanged),
                failed,
            )
        }
    }
}

/// Plans every action, shows each plan through `show`, and — approved — runs them.
pub fn run<A: Action>(
    ctx: &Context,
    rt: &tokio::runtime::Runtime,
    r: &Response,
    actions: &[A],
    show: &mut dyn FnMut(PlanShown<'_>),
) -> anyhow::Result<Outcomes> {
    let mut store = ctx.store()?;
    let case = store.case(&r.case)?;
    let young = case.triaged_at.is_none();
    let mut warned = false;
    let outcomes = rt.block_on(
        Run {
            store: &mut store,
            case: &r.case,
            actor: &ctx.actor,
            approved: r.approved,
            concurrency: r.concurrency,
            place: r.place.clone(),
        }
        .run(actions, |plan| {
            let warn_untriaged = !plan.already_done && plan.visible_to_attacker && young && !warned;
            warned |= warn_untriaged;
            show(PlanShown {
                plan,
                warn_untriaged,
            })
        }),
    )?;
    Ok(Outcomes {
        outcomes,
        approved: r.approved,
    })
}

/// What imaging tells the front end while it runs (any provider).
pub enum ImageProgress<'a> {
    Started(&'a str),
    Blocks {
        done: u64,
        total: u64,
    },
    /// Imaged and recorded (or failed): said at once, before the next snapshot starts.
    Done(&'a Imaged),
}

/// One snapshot's image, recorded as evidence; or why it failed.
pub struct Imaged {
    pub snapshot: String,
    pub result: Result<(squall_core::image::Made, squall_case::Evidence), String>,
}

/// What a front end hears of images as they are made.
pub type Progress<'p> = &'p mut (dyn FnMut(ImageProgress<'_>) + Send);

/// The front end's image progress behind one lock, since the driver wants `Sync` actions:
/// each snapshot's start is told as its first bytes arrive.
pub struct Told<'p> {
    /// The snapshot last told of, and whom to tell.
    inner: std::sync::Mutex<(Option<String>, Progress<'p>)>,
}

impl<'p> Told<'p> {
    pub fn new(progress: Progress<'p>) -> Told<'p> {
        Told {
            inner: std::sync::Mutex::new((None, progress)),
        }
    }

    /// `done` of `total` bytes of `snapshot`'s image are written.
    pub fn bytes(&self, snapshot: &str, done: u64, total: u64) {
        let mut told = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (current, progress) = &mut *told;
        if current.as_deref() != Some(snapshot) {
            *current = Some(snapshot.to_string());
            progress(ImageProgress::Started(snapshot));
        }
        progress(ImageProgress::Blocks { done, total });
    }

    /// An image is made and recorded, or failed.
    pub fn done(&self, imaged: &Imaged) {
        let mut told = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (told.1)(ImageProgress::Done(imaged));
    }
}

/// What the case's ledger says its response did so far.
pub fn history(ctx: &Context, case: &str) -> anyhow::Result<History> {
    Ok(History::read(&ctx.store()?.ledger(case)?))
}

/// What each instance's last isolation in the case replaced (its plan's `before.prior`), to
/// put back: an instance the case never isolated is an error that says where to look.
pub fn isolation_priors(
    history: &History,
    case: &str,
    instances: &[String],
) -> anyhow::Result<Vec<serde_json::Value>> {
    instances
        .iter()
        .map(|id| {
            let plan = history.last_change("isolate-instance", id).ok_or_else(|| {
                anyhow::anyhow!(
                    "case {case} has no isolation of {id} to undo (help: `squall ledger export {case}` shows what was done)"
                )
            })?;
            Ok(plan.before["prior"].clone())
        })
        .collect()
}

/// A runtime for the providers' SDKs, which are asynchronous.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Records `new` on the case unless the case already holds the same item (the same path with
/// the same digest): a re-run, or an image found complete, is evidence once.
pub fn record_once(
    store: &mut squall_case::SqliteStore,
    case: &str,
    actor: &str,
    new: squall_case::NewEvidence,
) -> anyhow::Result<squall_case::Evidence> {
    if let Some(e) = store
        .evidence(case)?
        .into_iter()
        .find(|e| e.path == new.path && e.sha256 == new.sha256)
    {
        return Ok(e);
    }
    Ok(store.add_evidence(case, actor, &new)?)
}
