//! A plain-text progress renderer for runs without a terminal (CI, logs): one line per epoch and split with
//! the epoch's mean of every numeric metric, plus a line every `every` iterations.

use std::collections::BTreeMap;

use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};

/// Prints metric values as plain text.
#[derive(Debug, Default)]
pub struct PlainRenderer {
    every: usize,
    names: BTreeMap<String, String>,
    train: BTreeMap<String, (f64, usize)>,
    valid: BTreeMap<String, (f64, usize)>,
    epoch: usize,
    in_train: bool,
}

impl PlainRenderer {
    /// Print an iteration line every `every` iterations (0 = only epoch lines).
    pub fn new(every: usize) -> Self {
        Self {
            every,
            ..Default::default()
        }
    }

    fn record(map: &mut BTreeMap<String, (f64, usize)>, names: &BTreeMap<String, String>, state: MetricState) {
        if let MetricState::Numeric(entry, value) = state {
            let id = format!("{:?}", entry.metric_id);
            let name = names.get(&id).cloned().unwrap_or(id);
            let v = value.current();
            let e = map.entry(name).or_insert((0.0, 0));
            e.0 += v;
            e.1 += 1;
        }
    }

    fn flush(split: &str, epoch: usize, map: &mut BTreeMap<String, (f64, usize)>) {
        if map.is_empty() {
            return;
        }
        let parts: Vec<String> = map
            .iter()
            .map(|(k, (s, n))| format!("{k} {:.4}", s / (*n).max(1) as f64))
            .collect();
        println!("epoch {epoch} {split}: {}", parts.join(", "));
        map.clear();
    }
}

impl PlainRenderer {
    fn enter_train(&mut self) {
        if !self.in_train {
            Self::flush("valid", self.epoch, &mut self.valid);
            self.in_train = true;
        }
    }

    fn enter_valid(&mut self) {
        if self.in_train {
            Self::flush("train", self.epoch, &mut self.train);
            self.in_train = false;
        }
    }
}

impl MetricsRendererTraining for PlainRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.enter_train();
        Self::record(&mut self.train, &self.names, state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.enter_valid();
        Self::record(&mut self.valid, &self.names, state);
    }

    fn render_train(&mut self, item: TrainingProgress, _progress: Vec<ProgressType>) {
        self.enter_train();
        self.epoch = item.global_progress.items_processed;
        if let (Some(p), Some(it)) = (&item.progress, item.iteration) {
            if self.every > 0 && it % self.every == 0 {
                println!(
                    "epoch {} iteration {it} ({}/{} batches)",
                    self.epoch, p.items_processed, p.items_total
                );
            }
        }
    }

    fn render_valid(&mut self, _item: TrainingProgress, _progress: Vec<ProgressType>) {
        self.enter_valid();
    }

    fn on_train_end(
        &mut self,
        _summary: Option<burn::train::LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Self::flush("train", self.epoch, &mut self.train);
        Self::flush("valid", self.epoch, &mut self.valid);
        Ok(())
    }
}

impl MetricsRendererEvaluation for PlainRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

    fn render_test(&mut self, _item: EvaluationProgress, _progress: Vec<ProgressType>) {}
}

impl MetricsRenderer for PlainRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: burn::train::metric::MetricDefinition) {
        self.names
            .insert(format!("{:?}", definition.metric_id), definition.name.clone());
    }
}
