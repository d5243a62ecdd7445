//! The network: a CNN-LSTM over pileup tensors, run through libtorch (`tch`). This is the only
//! module that touches `tch`. It owns the architecture, device choice, loading and
//! verifying model files (weights + JSON model card), batched inference producing
//! [`Prediction`]s, and the optimisation loop used by `callvar train`.
//!
//! Architecture (`cnn-lstm-v1`): input `[B, 9, 48, 33]` (channels, read rows, positions),
//! scaled to `[0, 1]`; conv 3x3 (9→16) + ReLU; conv 3x3 (16→24) + ReLU; mean and max over the
//! read rows → `[B, 48, 33]`; a bidirectional LSTM (hidden 32) along the 33 positions; the
//! LSTM output at the centre column and its mean over positions (128 values) → linear 64 +
//! ReLU → linear 3: logits for 0, 1 or 2 copies of the candidate allele.
use crate::tensor::{PileupTensor, CHANNELS, HEIGHT, LAYOUT_VERSION, SIZE, WIDTH};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tch::nn::{self, OptimizerConfig, RNN};
use tch::{Device, Kind, Tensor};

include!(concat!(env!("OUT_DIR"), "/default_model.rs"));

pub const ARCHITECTURE: &str = "cnn-lstm-v1: conv3x3(9->16)+relu, conv3x3(16->24)+relu, \
mean+max over reads, biLSTM(48->32x2) over positions, [centre, mean] -> fc(128->64)+relu -> fc(64->3)";
/// Name of the model embedded in the binary, used when `--model` is not given.
pub const DEFAULT_MODEL: &str = "illumina-wgs";
const BATCH: usize = 256;

/// Probabilities that the sample carries 0, 1 or 2 copies of one candidate allele.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    pub probs: [f64; 3],
}

/// A file used in training, with its checksum.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputFile {
    pub role: String,
    pub path: String,
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

struct Net {
    c1: nn::Conv2D,
    c2: nn::Conv2D,
    lstm: nn::LSTM,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Net {
    fn new(p: &nn::Path) -> Net {
        let conv = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let rnn = nn::RNNConfig {
            bidirectional: true,
            batch_first: true,
            ..Default::default()
        };
        Net {
            c1: nn::conv2d(p / "c1", CHANNELS.len() as i64, 16, 3, conv),
            c2: nn::conv2d(p / "c2", 16, 24, 3, conv),
            lstm: nn::lstm(p / "lstm", 48, 32, rnn),
            fc1: nn::linear(p / "fc1", 128, 64, Default::default()),
            fc2: nn::linear(p / "fc2", 64, 3, Default::default()),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.apply(&self.c1).relu().apply(&self.c2).relu(); // [B, 24, H, W]
        let mean = x.mean_dim(&[2i64][..], false, Kind::Float);
        let max = x.amax(&[2i64][..], false);
        let f = Tensor::cat(&[mean, max], 1).transpose(1, 2); // [B, W, 48]
        let (out, _) = self.lstm.seq(&f); // [B, W, 64]
        let centre = out.select(1, (WIDTH / 2) as i64);
        let avg = out.mean_dim(&[1i64][..], false, Kind::Float);
        Tensor::cat(&[centre, avg], 1)
            .apply(&self.fc1)
            .relu()
            .apply(&self.fc2)
    }
}

fn batch_tensor(items: &[&[u8]], device: Device) -> Tensor {
    let mut buf = Vec::with_capacity(items.len() * SIZE);
    for t in items {
        buf.extend_from_slice(t);
    }
    Tensor::from_slice(&buf)
        .view([
            items.len() as i64,
            CHANNELS.len() as i64,
            HEIGHT as i64,
            WIDTH as i64,
        ])
        .to_device(device)
        .to_kind(Kind::Float)
        / 255.0
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
    /// Finds a model by name or path: a directory holding `card.json` and `model.ot`, the
    /// embedded default (`illumina-wgs`), or a name under `models/` beside the binary.
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
            if spec == DEFAULT_MODEL && !DEFAULT_WEIGHTS.is_empty() {
                let card: ModelCard = serde_json::from_str(DEFAULT_CARD)
                    .context("embedded model card is malformed")?;
                return Model::verified(card, DEFAULT_WEIGHTS.to_vec(), "embedded".to_string());
            }
        }
        bail!("unknown model '{spec}': not a model directory (card.json + model.ot) nor a known model name ({DEFAULT_MODEL})")
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

    fn verified(card: ModelCard, weights: Vec<u8>, source: String) -> Result<Model> {
        if card.tensor_layout_version != LAYOUT_VERSION {
            bail!(
                "model {source}: tensor layout version {} but this callvar builds version {LAYOUT_VERSION}; retrain with `callvar train`",
                card.tensor_layout_version
            );
        }
        let sha = sha256(&weights);
        if sha != card.weights_sha256 {
            bail!(
                "model {source}: weights SHA-256 {sha} does not match the card's {}",
                card.weights_sha256
            );
        }
        Ok(Model {
            card,
            weights,
            source,
        })
    }

    /// Places the network on `device`, ready for inference.
    pub fn instance(&self, device: Device) -> Result<Scorer> {
        let mut vs = nn::VarStore::new(device);
        let net = Net::new(&vs.root());
        vs.load_from_stream(std::io::Cursor::new(&self.weights))
            .with_context(|| {
                format!(
                    "model {}: weights do not fit the {ARCHITECTURE} network",
                    self.source
                )
            })?;
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
    /// Scores tensors in fixed-size batches, in order.
    pub fn predict(&self, tensors: &[&PileupTensor]) -> Vec<Prediction> {
        let mut out = Vec::with_capacity(tensors.len());
        tch::no_grad(|| {
            for batch in tensors.chunks(BATCH) {
                let items: Vec<&[u8]> = batch.iter().map(|t| t.data.as_slice()).collect();
                let probs = self
                    .net
                    .forward(&batch_tensor(&items, self.device))
                    .softmax(-1, Kind::Double);
                let v: Vec<f64> =
                    Vec::try_from(probs.to_device(Device::Cpu).flatten(0, -1)).unwrap_or_default();
                for p in v.chunks(3) {
                    out.push(Prediction {
                        probs: [p[0], p[1], p[2]],
                    });
                }
            }
        });
        out
    }
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

fn evaluate(net: &Net, data: &[Example], device: Device) -> Metrics {
    let mut m = Metrics {
        examples: data.len(),
        ..Default::default()
    };
    let mut hits = [0usize; 3];
    let mut loss_sum = 0.0;
    tch::no_grad(|| {
        for batch in data.chunks(BATCH) {
            let items: Vec<&[u8]> = batch.iter().map(|e| e.tensor.data.as_slice()).collect();
            let labels: Vec<i64> = batch.iter().map(|e| e.label as i64).collect();
            let logits = net.forward(&batch_tensor(&items, device));
            let y = Tensor::from_slice(&labels).to_device(device);
            loss_sum += logits.cross_entropy_for_logits(&y).double_value(&[]) * batch.len() as f64;
            let pred: Vec<i64> =
                Vec::try_from(logits.argmax(-1, false).to_device(Device::Cpu)).unwrap_or_default();
            for (p, l) in pred.iter().zip(&labels) {
                m.class_counts[*l as usize] += 1;
                if p == l {
                    hits[*l as usize] += 1;
                }
            }
        }
    });
    let n = data.len().max(1) as f64;
    m.loss = loss_sum / n;
    m.accuracy = hits.iter().sum::<usize>() as f64 / n;
    for ((recall, hit), count) in m.class_recall.iter_mut().zip(hits).zip(m.class_counts) {
        *recall = hit as f64 / count.max(1) as f64;
    }
    m
}

/// Trains a fresh network; returns the weights of the epoch with the lowest validation loss
/// and that epoch's validation metrics. `log` receives one line per epoch.
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
    let net = Net::new(&vs.root());
    let mut opt = nn::Adam::default().build(&vs, cfg.learning_rate)?;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = cfg.seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut best: Option<(f64, Vec<u8>, Metrics)> = None;
    for epoch in 0..cfg.epochs {
        // Fisher-Yates with a xorshift generator: the same seed gives the same order.
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        if epoch == cfg.epochs * 2 / 3 {
            opt.set_lr(cfg.learning_rate / 5.0);
        }
        let mut total = 0.0;
        for idx in order.chunks(cfg.batch_size) {
            let items: Vec<&[u8]> = idx
                .iter()
                .map(|&i| train[i].tensor.data.as_slice())
                .collect();
            let labels: Vec<i64> = idx.iter().map(|&i| train[i].label as i64).collect();
            let x = batch_tensor(&items, cfg.device);
            let y = Tensor::from_slice(&labels).to_device(cfg.device);
            let loss = net.forward(&x).cross_entropy_for_logits(&y);
            opt.backward_step(&loss);
            total += loss.double_value(&[]) * idx.len() as f64;
        }
        let m = evaluate(&net, valid, cfg.device);
        log(&format!(
            "epoch {:>2}: train loss {:.4}  validation loss {:.4}  accuracy {:.4}  recall(0/1/2) {:.3}/{:.3}/{:.3}",
            epoch + 1,
            total / train.len() as f64,
            m.loss,
            m.accuracy,
            m.class_recall[0],
            m.class_recall[1],
            m.class_recall[2]
        ));
        if best.as_ref().is_none_or(|b| m.loss < b.0) {
            let mut w = Vec::new();
            vs.save_to_stream(&mut w)?;
            best = Some((m.loss, w, m));
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
}
