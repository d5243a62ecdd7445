//! The network: a CNN-LSTM over pileup tensors, run through libtorch (`tch`). This is the only
//! module that touches `tch`. It owns the architecture, device choice, loading and
//! verifying model files (weights + JSON model card), batched inference producing
//! [`Prediction`]s, and the optimisation loop used by `callvar train`. Every libtorch call
//! is a fallible one (`f_*`): a libtorch failure is an error of one line (`libtorch: …`,
//! without the C++ backtrace), never a panic. Weights are saved with their variables sorted
//! by name, so the same training gives the same file and checksum.
//!
//! Architecture (`cnn-lstm-v1`): input `[B, 9, 48, 33]` (channels, read rows, positions),
//! scaled to `[0, 1]`; conv 3x3 (9→16) + ReLU; conv 3x3 (16→24) + ReLU; mean and max over the
//! read rows → `[B, 48, 33]`; a bidirectional LSTM (hidden 32) along the 33 positions; the
//! LSTM output at the centre column and its mean over positions (128 values) → linear 64 +
//! ReLU → linear 3: logits for 0, 1 or 2 copies of the candidate allele.
use crate::preset::{PileupSettings, Preset};
use crate::tensor::{PileupTensor, CHANNELS, HEIGHT, LAYOUT_VERSION, SIZE, WIDTH};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tch::nn::{self, OptimizerConfig};
pub use tch::Device;
use tch::{Kind, TchError, Tensor};

include!(concat!(env!("OUT_DIR"), "/embedded_models.rs"));

pub const ARCHITECTURE: &str = "cnn-lstm-v1: conv3x3(9->16)+relu, conv3x3(16->24)+relu, \
mean+max over reads, biLSTM(48->32x2) over positions, [centre, mean] -> fc(128->64)+relu -> fc(64->3)";
/// Name of the model used when neither `--model` nor `--preset` is given.
pub const DEFAULT_MODEL: &str = "illumina-wgs";

/// A model built into the binary (from `models/NAME` at build time): weights and card.
pub fn embedded(name: &str) -> Option<(&'static [u8], &'static str)> {
    EMBEDDED_MODELS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|&(_, w, c)| (w, c))
}

/// Names of the models built into the binary.
pub fn embedded_names() -> impl Iterator<Item = &'static str> {
    EMBEDDED_MODELS.iter().map(|(n, _, _)| *n)
}
/// Tensors per forward pass in training and evaluation (and the default for `call`).
pub const BATCH: usize = 256;

/// Probabilities that the sample carries 0, 1 or 2 copies of one candidate allele.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    pub probs: [f64; 3],
}

/// A file used in training, with its checksum.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputFile {
    pub role: String,
    /// The training sample (numbered from 1, in `--reads` order) the file belongs to; none
    /// for files that apply to every sample (`--exclude`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<usize>,
    /// File name, no folder (older cards called this `path` and held the path as given).
    #[serde(alias = "path")]
    pub file: String,
    pub sha256: String,
}

/// Held-out validation results.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub examples: usize,
    pub loss: f64,
    pub accuracy: f64,
    /// Recall of each class (0, 1, 2 copies).
    pub class_recall: [f64; 3],
    pub class_counts: [usize; 3],
}

/// Everything needed to trust and reproduce a model; stored as `card.json` beside the weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelCard {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub tensor_layout_version: u32,
    /// Channels, rows, columns.
    pub tensor_shape: [usize; 3],
    pub channels: Vec<String>,
    pub created_by: String,
    pub inputs: Vec<InputFile>,
    pub train_regions: Vec<String>,
    pub validation_regions: Vec<String>,
    pub excluded_regions: Vec<String>,
    pub seed: u64,
    pub epochs: usize,
    pub learning_rate: f64,
    pub train_examples: usize,
    pub validation: Metrics,
    /// SHA-256 of the weights file; checked on load.
    pub weights_sha256: String,
    /// Read filters and candidate thresholds `call` uses with this model unless `--preset`
    /// or explicit flags say otherwise (the `--preset` given to `train`); cards without it
    /// use the Illumina preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pileup: Option<PileupSettings>,
    /// How the network's probabilities are calibrated at genotyping; absent: not calibrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
}

/// Calibration of the network's softmax, fitted by `callvar calibrate` on held-out calls.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    /// `temperature`: every prediction becomes `p(c)^(1/T)`, renormalised.
    pub method: String,
    pub temperature: f64,
    pub fitted_on: CalibrationData,
}

/// What a calibration was fitted on, and how much it helped.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CalibrationData {
    /// Input files (names and SHA-256).
    pub inputs: Vec<InputFile>,
    /// Regions fitted on, and regions excluded from them.
    pub regions: Vec<String>,
    pub excluded_regions: Vec<String>,
    /// Labelled sites fitted on.
    pub sites: usize,
    /// Mean negative log-likelihood of the true genotype, at T = 1 and at the fitted T.
    pub log_loss_uncalibrated: f64,
    pub log_loss_calibrated: f64,
}

impl ModelCard {
    /// The settings `call` starts from with this model.
    pub fn pileup_settings(&self) -> PileupSettings {
        self.pileup
            .clone()
            .unwrap_or_else(|| Preset::Illumina.settings())
    }

    /// The softmax temperature to genotype with (1 without a calibration).
    pub fn temperature(&self) -> f64 {
        self.calibration.as_ref().map_or(1.0, |c| c.temperature)
    }

    /// For the VCF header: `temperature:T` or `none`.
    pub fn calibration_summary(&self) -> String {
        match &self.calibration {
            Some(c) => format!("{}:{}", c.method, c.temperature),
            None => "none".to_string(),
        }
    }
}

/// Which device inference runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    Auto,
    Cpu,
    Cuda(usize),
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| format!("'{s}' is not auto, cpu, cuda or cuda:N")),
        }
    }
}

impl DeviceChoice {
    /// The concrete device; `cuda` on a machine without CUDA is an error.
    pub fn resolve(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto => Ok(if tch::Cuda::is_available() {
                Device::Cuda(0)
            } else {
                Device::Cpu
            }),
            DeviceChoice::Cuda(i) => {
                let n = tch::Cuda::device_count() as usize;
                if i >= n {
                    bail!("--device cuda:{i}: CUDA device not available ({n} CUDA devices found)");
                }
                Ok(Device::Cuda(i))
            }
        }
    }
}

/// Resolves `--device`: every listed device must exist.
pub fn resolve_devices(choices: &[DeviceChoice]) -> Result<Vec<Device>> {
    choices.iter().map(|c| c.resolve()).collect()
}

pub fn device_name(d: Device) -> String {
    match d {
        Device::Cpu => "cpu".to_string(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

/// Limits libtorch's own CPU threads: callvar parallelises over chunks with rayon.
pub fn set_torch_threads(n: usize) {
    tch::set_num_threads(n as i32);
}

/// A libtorch failure as one line: tch puts the C++ backtrace after the message's first line.
fn torch_error(e: TchError) -> anyhow::Error {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    anyhow!(
        "libtorch: {}",
        first.trim_start_matches("Internal torch error: ")
    )
}

/// Weight and bias of a convolution or linear layer.
struct Layer {
    w: Tensor,
    b: Tensor,
}

impl Layer {
    /// Creates the bias, then the weight (Kaiming uniform): the order and initialisation of
    /// `nn::conv2d` and `nn::linear`, so a seed gives the same network as those layers.
    fn new(p: nn::Path, w_dims: &[i64], b_init: nn::Init) -> Result<Layer, TchError> {
        let b = p.f_var("bias", &[w_dims[0]], b_init)?;
        let w = p.f_var("weight", w_dims, nn::init::DEFAULT_KAIMING_UNIFORM)?;
        Ok(Layer { w, b })
    }

    /// A linear layer; its bias is uniform in ±1/√inputs, as in `nn::linear`.
    fn linear(p: nn::Path, inputs: i64, outputs: i64) -> Result<Layer, TchError> {
        let bound = 1.0 / (inputs as f64).sqrt();
        let init = nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        Layer::new(p, &[outputs, inputs], init)
    }

    /// 3x3 convolution with padding 1, then ReLU.
    fn conv_relu(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_conv2d(&self.w, Some(&self.b), [1, 1], [1, 1], [1, 1], 1)?
            .f_relu()
    }

    fn linear_apply(&self, x: &Tensor) -> Result<Tensor, TchError> {
        x.f_linear(&self.w, Some(&self.b))
    }
}

const LSTM_IN: i64 = 48;
const LSTM_HIDDEN: i64 = 32;

struct Net {
    c1: Layer,
    c2: Layer,
    /// Bidirectional LSTM weights in libtorch's flat order (forward, then reverse direction:
    /// input-hidden weight, hidden-hidden weight, input-hidden bias, hidden-hidden bias).
    lstm: Vec<Tensor>,
    fc1: Layer,
    fc2: Layer,
}

impl Net {
    /// Creates the variables under the names, shapes, order and initialisation that
    /// `nn::conv2d`, `nn::lstm` and `nn::linear` use, so saved models keep loading; built by
    /// hand so that every libtorch call is a fallible one.
    fn new(p: &nn::Path) -> Result<Net, TchError> {
        let conv = |name: &str, inputs: i64, outputs: i64| {
            Layer::new(p / name, &[outputs, inputs, 3, 3], nn::Init::Const(0.))
        };
        let c1 = conv("c1", CHANNELS.len() as i64, 16)?;
        let c2 = conv("c2", 16, 24)?;
        let lp = p / "lstm";
        let mut lstm = Vec::with_capacity(8);
        for suffix in ["", "_reverse"] {
            let gates = 4 * LSTM_HIDDEN;
            let kaiming = nn::init::DEFAULT_KAIMING_UNIFORM;
            lstm.push(lp.f_var(&format!("weight_ih_l0{suffix}"), &[gates, LSTM_IN], kaiming)?);
            lstm.push(lp.f_var(
                &format!("weight_hh_l0{suffix}"),
                &[gates, LSTM_HIDDEN],
                kaiming,
            )?);
            lstm.push(lp.f_zeros(&format!("bias_ih_l0{suffix}"), &[gates])?);
            lstm.push(lp.f_zeros(&format!("bias_hh_l0{suffix}"), &[gates])?);
        }
        if p.device().is_cuda() && tch::Cuda::cudnn_is_available() {
            // one contiguous weight buffer for cuDNN, as `nn::lstm` does (mode 2 = LSTM); the
            // weights become views of it, so the returned buffer itself is not kept
            let _ = Tensor::f_internal_cudnn_rnn_flatten_weight(
                &lstm,
                4,
                LSTM_IN,
                2,
                LSTM_HIDDEN,
                0,
                1,
                true,
                true,
            )?;
        }
        Ok(Net {
            c1,
            c2,
            lstm,
            fc1: Layer::linear(p / "fc1", 4 * LSTM_HIDDEN, 64)?,
            fc2: Layer::linear(p / "fc2", 64, 3)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let x = self.c2.conv_relu(&self.c1.conv_relu(x)?)?; // [B, 24, H, W]
        let mean = x.f_mean_dim(&[2i64][..], false, Kind::Float)?;
        let max = x.f_amax(&[2i64][..], false)?;
        let f = Tensor::f_cat(&[mean, max], 1)?.f_transpose(1, 2)?; // [B, W, 48]
        let state = Tensor::f_zeros([2, f.size()[0], LSTM_HIDDEN], (Kind::Float, f.device()))?;
        let (out, _, _) = f.f_lstm(
            &[&state, &state],
            &self.lstm.iter().collect::<Vec<_>>(),
            true,
            1,
            0.0,
            true,
            true,
            true,
        )?; // [B, W, 64]
        let centre = out.f_select(1, (WIDTH / 2) as i64)?;
        let avg = out.f_mean_dim(&[1i64][..], false, Kind::Float)?;
        let hidden = self
            .fc1
            .linear_apply(&Tensor::f_cat(&[centre, avg], 1)?)?
            .f_relu()?;
        self.fc2.linear_apply(&hidden)
    }
}

/// Stacks tensors into a `[B, 9, 48, 33]` float batch in `[0, 1]` on `device`.
fn batch_tensor(items: &[&[u8]], device: Device) -> Result<Tensor, TchError> {
    let mut buf = Vec::with_capacity(items.len() * SIZE);
    for t in items {
        buf.extend_from_slice(t);
    }
    let host = Tensor::f_from_slice(&buf)?.f_view([
        items.len() as i64,
        CHANNELS.len() as i64,
        HEIGHT as i64,
        WIDTH as i64,
    ])?;
    let on_device = match device {
        // page-locked host memory lets the copy to the GPU run asynchronously
        Device::Cuda(_) => {
            host.f_pin_memory(device)?
                .f_to_device_(device, Kind::Uint8, true, false)?
        }
        _ => host,
    };
    on_device.f_to_kind(Kind::Float)?.f_div_scalar(255.0)
}

/// Weights in a stable file: variables sorted by name (a `VarStore` saves them in hash order,
/// so the same weights would give a different file, and checksum, on every run).
fn save_weights(vs: &nn::VarStore) -> Result<Vec<u8>> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut w = Vec::new();
    Tensor::save_multi_to_stream(&named, &mut w).map_err(torch_error)?;
    Ok(w)
}

/// A model: its card and weights, verified, not yet placed on a device.
#[derive(Clone, Debug)]
pub struct Model {
    pub card: ModelCard,
    pub weights: Vec<u8>,
    /// Where it came from: `embedded` or a path.
    pub source: String,
}

impl Model {
    /// Finds a model by name or path: a directory holding `card.json` and `model.ot`, a name
    /// under `models/` beside the binary (or the `make install` layout), or a model built
    /// into the binary (see [`embedded_names`]).
    pub fn find(spec: Option<&str>) -> Result<Model> {
        let spec = spec.unwrap_or(DEFAULT_MODEL);
        let path = Path::new(spec);
        if path.is_dir() {
            return Model::from_dir(path);
        }
        if path.is_file() && path.file_name().is_some_and(|f| f == "card.json") {
            return Model::from_dir(path.parent().unwrap_or(Path::new(".")));
        }
        if !spec.contains('/') {
            if let Ok(exe) = std::env::current_exe() {
                if let Some(dir) = exe.parent() {
                    for cand in [
                        dir.join("models").join(spec),
                        dir.join("../share/callvar/models").join(spec),
                    ] {
                        if cand.join("card.json").is_file() {
                            return Model::from_dir(&cand);
                        }
                    }
                }
            }
            if let Some((weights, card)) = embedded(spec) {
                let card: ModelCard = serde_json::from_str(card)
                    .with_context(|| format!("embedded model {spec}: malformed model card"))?;
                return Model::verified(card, weights.to_vec(), "embedded".to_string());
            }
        }
        let known: Vec<&str> = embedded_names().collect();
        bail!(
            "unknown model '{spec}': not a model directory (card.json + model.ot) nor a known model name ({})",
            known.join(", ")
        )
    }

    pub fn from_dir(dir: &Path) -> Result<Model> {
        let card_path = dir.join("card.json");
        let text = std::fs::read_to_string(&card_path)
            .with_context(|| format!("{}: cannot read model card", card_path.display()))?;
        let card: ModelCard = serde_json::from_str(&text)
            .with_context(|| format!("{}: malformed model card", card_path.display()))?;
        let wpath = dir.join("model.ot");
        let weights = std::fs::read(&wpath)
            .with_context(|| format!("{}: cannot read model weights", wpath.display()))?;
        Model::verified(card, weights, dir.display().to_string())
    }

    /// Checks the tensor layout version, the weights against the card's SHA-256, and that the
    /// weights load into the network.
    fn verified(card: ModelCard, weights: Vec<u8>, source: String) -> Result<Model> {
        if card.tensor_layout_version != LAYOUT_VERSION {
            bail!(
                "model {source}: tensor layout version {} but this callvar builds version {LAYOUT_VERSION}; retrain with `callvar train`",
                card.tensor_layout_version
            );
        }
        if let Some(c) = &card.calibration {
            if c.method != "temperature" || !(c.temperature.is_finite() && c.temperature > 0.0) {
                bail!(
                    "model {source}: card.json calibration must be method \"temperature\" with a temperature above 0 (found {} {})",
                    c.method,
                    c.temperature
                );
            }
        }
        if let Some(p) = &card.pileup {
            p.validate()
                .map_err(|e| anyhow!("model {source}: card.json pileup: {e}"))?;
        }
        let sha = sha256(&weights);
        if sha != card.weights_sha256 {
            bail!(
                "model {source}: weights SHA-256 {sha} does not match the card's {}",
                card.weights_sha256
            );
        }
        let model = Model {
            card,
            weights,
            source,
        };
        // fail here, before any output is written, rather than in the workers
        model.instance(Device::Cpu)?;
        Ok(model)
    }

    /// Places the network on `device`, ready for inference.
    pub fn instance(&self, device: Device) -> Result<Scorer> {
        let source = &self.source;
        let mut vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root()).map_err(torch_error).with_context(|| {
            format!(
                "model {source}: cannot build the network on {}",
                device_name(device)
            )
        })?;
        let arch = ARCHITECTURE.split(':').next().unwrap_or(ARCHITECTURE);
        vs.load_from_stream(std::io::Cursor::new(&self.weights))
            .map_err(torch_error)
            .with_context(|| format!("model {source}: weights do not fit the {arch} network"))?;
        vs.freeze();
        Ok(Scorer {
            _vs: vs,
            net,
            device,
        })
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    crate::reference::hex(&Sha256::digest(bytes))
}

/// A network instance on one device.
pub struct Scorer {
    _vs: nn::VarStore,
    net: Net,
    device: Device,
}

impl Scorer {
    /// Scores raw tensors in batches of `batch`, in order: one prediction per tensor (a
    /// chunk's batches never mix with another chunk's, so results do not depend on
    /// scheduling).
    fn predict_raw(&self, items: &[&[u8]], batch: usize) -> Result<Vec<Prediction>> {
        let mut out = Vec::with_capacity(items.len());
        tch::no_grad(|| -> Result<(), TchError> {
            for batch in items.chunks(batch.max(1)) {
                let probs = self
                    .net
                    .forward(&batch_tensor(batch, self.device)?)?
                    .f_softmax(-1, Kind::Double)?
                    .f_to_device(Device::Cpu)?
                    .f_flatten(0, -1)?;
                let v = Vec::<f64>::try_from(probs)?;
                out.extend(v.chunks_exact(3).map(|p| Prediction {
                    probs: [p[0], p[1], p[2]],
                }));
            }
            Ok(())
        })
        .map_err(torch_error)?;
        Ok(out)
    }
}

/// How chunk workers reach the network: a network of their own (CPU: no hand-off, as
/// fast as a shared one), or the shared [`InferenceService`] (GPUs: one network per device,
/// fed by every worker).
pub enum ScorerHandle {
    Local { scorer: Scorer, batch_size: usize },
    Shared(InferenceClient),
}

impl ScorerHandle {
    pub fn predict(&self, tensors: &[&PileupTensor]) -> Result<Vec<Prediction>> {
        match self {
            ScorerHandle::Local { scorer, batch_size } => {
                let items: Vec<&[u8]> = tensors.iter().map(|t| t.data.as_slice()).collect();
                scorer.predict_raw(&items, *batch_size)
            }
            ScorerHandle::Shared(c) => c.predict(tensors),
        }
    }
}

/// One chunk's tensors sent to an inference thread, with where to send the predictions.
struct Request {
    data: Vec<u8>,
    reply: std::sync::mpsc::Sender<Result<Vec<Prediction>>>,
}

/// One inference thread per device, each owning the network on its device and scoring
/// requests from a bounded queue shared by all chunk workers (who block on a full queue, so
/// memory stays bounded). Each request is scored in batches of `batch_size` that never mix
/// chunks, so predictions (and the VCF) do not depend on which device or thread served them.
pub struct InferenceService {
    sender: Option<std::sync::mpsc::SyncSender<Request>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// A chunk worker's handle on the [`InferenceService`].
#[derive(Clone)]
pub struct InferenceClient {
    sender: std::sync::mpsc::SyncSender<Request>,
}

impl InferenceService {
    /// Loads `model` on every device and starts their threads; `queue` requests may wait.
    pub fn start(
        model: &Model,
        devices: &[Device],
        batch_size: usize,
        queue: usize,
    ) -> Result<Self> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Request>(queue.max(1));
        let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
        let mut threads = Vec::new();
        for &device in devices {
            let (ready_tx, ready_rx) = std::sync::mpsc::channel();
            let (model, receiver) = (model.clone(), receiver.clone());
            threads.push(std::thread::spawn(move || {
                let scorer = match model.instance(device) {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                loop {
                    let next = match receiver.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    let Ok(req) = next else { return };
                    let items: Vec<&[u8]> = req.data.chunks_exact(SIZE).collect();
                    let _ = req.reply.send(scorer.predict_raw(&items, batch_size));
                }
            }));
            ready_rx.recv().map_err(|_| {
                anyhow::anyhow!("inference thread for {} died", device_name(device))
            })??;
        }
        Ok(InferenceService {
            sender: Some(sender),
            threads,
        })
    }

    pub fn client(&self) -> Result<InferenceClient> {
        let sender = self.sender.clone().context("inference service stopped")?;
        Ok(InferenceClient { sender })
    }
}

impl Drop for InferenceService {
    fn drop(&mut self) {
        self.sender = None; // threads end when every sender is gone
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl InferenceClient {
    pub fn predict(&self, tensors: &[&PileupTensor]) -> Result<Vec<Prediction>> {
        if tensors.is_empty() {
            return Ok(Vec::new());
        }
        let mut data = Vec::with_capacity(tensors.len() * SIZE);
        for t in tensors {
            data.extend_from_slice(&t.data);
        }
        let (reply, answer) = std::sync::mpsc::channel();
        self.sender
            .send(Request { data, reply })
            .map_err(|_| anyhow::anyhow!("inference service stopped"))?;
        answer
            .recv()
            .map_err(|_| anyhow::anyhow!("inference thread ended without an answer"))?
    }
}

/// `--device` of `call`: one device, or several CUDA devices.
#[derive(Clone, Debug, PartialEq)]
pub struct Devices(pub Vec<DeviceChoice>);

/// Parses `--device`: `auto`, `cpu`, `cuda`, `cuda:N`, or several CUDA devices separated by
/// commas (`cuda:0,cuda:1`).
pub fn parse_devices(s: &str) -> Result<Devices, String> {
    let list: Vec<DeviceChoice> = s.split(',').map(str::parse).collect::<Result<_, _>>()?;
    if list.len() > 1 && list.iter().any(|d| !matches!(d, DeviceChoice::Cuda(_))) {
        return Err(format!("'{s}': only CUDA devices can be listed together"));
    }
    let mut seen = list.clone();
    seen.sort_by_key(|d| format!("{d:?}"));
    seen.dedup();
    if seen.len() != list.len() {
        return Err(format!("'{s}' names a device twice"));
    }
    Ok(Devices(list))
}

/// One labelled training example: a tensor and the number of copies (0, 1, 2) of its allele.
pub struct Example {
    pub tensor: PileupTensor,
    pub label: u8,
}

/// Optimiser settings for [`fit`].
#[derive(Clone, Debug)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub device: Device,
}

/// Labels of `batch` as a tensor on `device`.
fn label_tensor(batch: &[&Example], device: Device) -> Result<Tensor, TchError> {
    let labels: Vec<i64> = batch.iter().map(|e| e.label as i64).collect();
    Tensor::f_from_slice(&labels)?.f_to_device(device)
}

/// Mean cross-entropy of `logits` against the labels `y`.
fn cross_entropy(logits: &Tensor, y: &Tensor) -> Result<Tensor, TchError> {
    logits
        .f_log_softmax(-1, Kind::Float)?
        .f_nll_loss::<Tensor>(y, None, tch::Reduction::Mean, -100)
}

fn evaluate(net: &Net, data: &[Example], device: Device) -> Result<Metrics, TchError> {
    let mut m = Metrics {
        examples: data.len(),
        ..Default::default()
    };
    let mut hits = [0usize; 3];
    let mut loss_sum = 0.0;
    tch::no_grad(|| -> Result<(), TchError> {
        for batch in data.chunks(BATCH) {
            let batch: Vec<&Example> = batch.iter().collect();
            let items: Vec<&[u8]> = batch.iter().map(|e| e.tensor.data.as_slice()).collect();
            let logits = net.forward(&batch_tensor(&items, device)?)?;
            let y = label_tensor(&batch, device)?;
            loss_sum += cross_entropy(&logits, &y)?.f_double_value(&[])? * batch.len() as f64;
            let pred = Vec::<i64>::try_from(logits.f_argmax(-1, false)?.f_to_device(Device::Cpu)?)?;
            for (p, e) in pred.iter().zip(&batch) {
                let l = e.label as usize;
                m.class_counts[l] += 1;
                if *p as usize == l {
                    hits[l] += 1;
                }
            }
        }
        Ok(())
    })?;
    let n = data.len().max(1) as f64;
    m.loss = loss_sum / n;
    m.accuracy = hits.iter().sum::<usize>() as f64 / n;
    for ((recall, hit), count) in m.class_recall.iter_mut().zip(hits).zip(m.class_counts) {
        *recall = hit as f64 / count.max(1) as f64;
    }
    Ok(m)
}

/// Trains a fresh network; returns the weights of the epoch with the lowest validation loss
/// and that epoch's validation metrics. `log` receives one line per epoch. A non-finite
/// training or validation loss (a diverging run) is an error naming the epoch and step.
pub fn fit(
    train: &[Example],
    valid: &[Example],
    cfg: &FitConfig,
    mut log: impl FnMut(&str),
) -> Result<(Vec<u8>, Metrics)> {
    if train.is_empty() || valid.is_empty() {
        bail!(
            "no training or validation examples (train {}, validation {})",
            train.len(),
            valid.len()
        );
    }
    tch::manual_seed(cfg.seed as i64);
    let vs = nn::VarStore::new(cfg.device);
    let net = Net::new(&vs.root()).map_err(torch_error)?;
    let mut opt = nn::Adam::default()
        .build(&vs, cfg.learning_rate)
        .map_err(torch_error)?;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = cfg.seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut best: Option<(f64, Vec<u8>, Metrics)> = None;
    for epoch in 1..=cfg.epochs {
        // Fisher-Yates with a xorshift generator: the same seed gives the same order.
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        if epoch == cfg.epochs * 2 / 3 + 1 {
            opt.set_lr(cfg.learning_rate / 5.0);
        }
        let mut total = 0.0;
        for (step, idx) in order.chunks(cfg.batch_size).enumerate() {
            let batch: Vec<&Example> = idx.iter().map(|&i| &train[i]).collect();
            let loss = (|| {
                let items: Vec<&[u8]> = batch.iter().map(|e| e.tensor.data.as_slice()).collect();
                let x = batch_tensor(&items, cfg.device)?;
                let y = label_tensor(&batch, cfg.device)?;
                cross_entropy(&net.forward(&x)?, &y)
            })()
            .map_err(torch_error)?;
            let value = loss.f_double_value(&[]).map_err(torch_error)?;
            if !value.is_finite() {
                bail!(
                    "training diverged: loss {value} at epoch {epoch}, step {}; no model written (try a lower --learning-rate)",
                    step + 1
                );
            }
            opt.zero_grad();
            loss.f_backward().map_err(torch_error)?;
            opt.step();
            total += value * idx.len() as f64;
        }
        let m = evaluate(&net, valid, cfg.device).map_err(torch_error)?;
        if !m.loss.is_finite() {
            bail!(
                "training diverged: validation loss {} after epoch {epoch}; no model written (try a lower --learning-rate)",
                m.loss
            );
        }
        log(&format!(
            "epoch {epoch:>2}: train loss {:.4}  validation loss {:.4}  accuracy {:.4}  recall(0/1/2) {:.3}/{:.3}/{:.3}",
            total / train.len() as f64,
            m.loss,
            m.accuracy,
            m.class_recall[0],
            m.class_recall[1],
            m.class_recall[2]
        ));
        if best.as_ref().is_none_or(|b| m.loss < b.0) {
            best = Some((m.loss, save_weights(&vs)?, m));
        }
    }
    let (_, w, m) = best.context("no epochs run")?;
    Ok((w, m))
}

/// Writes `model.ot` and `card.json` into `dir` (created), filling the card's checksum.
pub fn save(dir: &Path, weights: &[u8], mut card: ModelCard) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create model directory", dir.display()))?;
    card.weights_sha256 = sha256(weights);
    let w = dir.join("model.ot");
    std::fs::write(&w, weights).with_context(|| format!("{}: cannot write", w.display()))?;
    let c = dir.join("card.json");
    std::fs::write(&c, serde_json::to_string_pretty(&card)? + "\n")
        .with_context(|| format!("{}: cannot write", c.display()))?;
    Ok(c)
}

/// One line for `callvar --version`: whether libtorch can use CUDA here, and how.
pub fn cuda_summary() -> String {
    if !tch::Cuda::is_available() {
        return "not available (no CUDA device or driver, or a CPU-only libtorch): runs on CPU"
            .to_string();
    }
    let cudnn = if tch::Cuda::cudnn_is_available() {
        let v = tch::utils::version_cudnn();
        format!("cuDNN {}.{}.{}", v / 10000, v / 100 % 100, v % 100)
    } else {
        "no cuDNN".to_string()
    };
    format!(
        "available, {} device(s), {cudnn}",
        tch::Cuda::device_count()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_choices() {
        assert_eq!("auto".parse::<DeviceChoice>(), Ok(DeviceChoice::Auto));
        assert_eq!("cuda:1".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(1)));
        assert!("gpu".parse::<DeviceChoice>().is_err());
        assert_eq!(DeviceChoice::Cpu.resolve().unwrap(), Device::Cpu);
    }

    /// Examples with a constant tensor per label: easy to fit, cheap to build.
    fn examples(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| Example {
                tensor: PileupTensor {
                    data: vec![(i % 3) as u8 * 100; SIZE],
                },
                label: (i % 3) as u8,
            })
            .collect()
    }

    fn cfg(learning_rate: f64) -> FitConfig {
        FitConfig {
            epochs: 2,
            batch_size: 4,
            learning_rate,
            seed: 1,
            device: Device::Cpu,
        }
    }

    #[test]
    fn libtorch_errors_are_one_line() {
        let e = torch_error(TchError::Torch(
            "shape '[2]' is invalid\nException raised from view at aten.cpp:1\nframe #0: x".into(),
        ));
        assert_eq!(e.to_string(), "libtorch: shape '[2]' is invalid");
        // a real failure: a tensor of the wrong size is an error, not a panic or no predictions
        let vs = nn::VarStore::new(Device::Cpu);
        let scorer = Scorer {
            net: Net::new(&vs.root()).unwrap(),
            _vs: vs,
            device: Device::Cpu,
        };
        let bad = vec![0u8; 10];
        let err = scorer.predict_raw(&[&bad], BATCH).unwrap_err().to_string();
        assert!(
            err.starts_with("libtorch: shape '[1, 9, 48, 33]' is invalid"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        let good = vec![0u8; SIZE];
        let p = scorer.predict_raw(&[&good, &good], BATCH).unwrap();
        assert_eq!(p.len(), 2);
        assert!((p[0].probs.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    fn default_card() -> ModelCard {
        serde_json::from_str(embedded(DEFAULT_MODEL).unwrap().1).unwrap()
    }

    #[test]
    fn corrupt_weights_are_one_error_line() {
        let err =
            Model::verified(default_card(), b"not a model".to_vec(), "test".into()).unwrap_err();
        // the checksum is checked first
        assert!(
            format!("{err:#}").contains("does not match the card"),
            "{err:#}"
        );
        let mut card = default_card();
        card.weights_sha256 = sha256(b"not a model");
        let err = format!(
            "{:#}",
            Model::verified(card, b"not a model".to_vec(), "test".into()).unwrap_err()
        );
        assert!(
            err.starts_with("model test: weights do not fit the cnn-lstm-v1 network: libtorch: "),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn training_is_reproducible_and_saved_stably() {
        let (train, valid) = (examples(24), examples(9));
        let (w1, m1) = fit(&train, &valid, &cfg(1e-3), |_| {}).unwrap();
        let (w2, m2) = fit(&train, &valid, &cfg(1e-3), |_| {}).unwrap();
        assert_eq!(sha256(&w1), sha256(&w2), "same seed, same weights file");
        assert_eq!(m1.loss, m2.loss);
        assert_eq!(m1.examples, 9);
        assert_eq!(m1.class_counts, [3, 3, 3]);
    }

    #[test]
    fn diverging_training_is_an_error() {
        let mut lines = Vec::new();
        let err = fit(&examples(24), &examples(9), &cfg(1e30), |l| {
            lines.push(l.to_string())
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("training diverged: "), "{err}");
        assert!(
            err.contains("epoch 1") && err.contains("no model written"),
            "{err}"
        );
        assert!(lines.is_empty(), "no epoch finished: {lines:?}");
    }
}
