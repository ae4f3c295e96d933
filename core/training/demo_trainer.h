#pragma once

// `moescope train-demo`: trains the demo MoE language model with the
// inference decoder itself (core/model/decoder.h over trainable fp32
// parameters, autograd through the same layers) on the bundled UDHR sample.
// Torch-free header; demo_trainer.cpp and trainable_model.cpp include ATen.
//
// An output folder holds a loadable model at every moment:
//   config.json, tokenizer.json   written once
//   model.safetensors             the parameters with the best held-out loss so far
//   loss.csv                      step, train and held-out bits per byte
//   training_state.safetensors    latest parameters + AdamW moments (--resume)
//   training_state.json           step, clock, early-stopping state, options

#include "core/training/demo_corpus.h"
#include "core/training/demo_model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moescope {
class JobContext;
}

namespace moescope::training {

struct DemoTrainingOptions
{
    std::string outDir;
    bool resume = false; // continue from outDir's training state (its options win)
    std::uint64_t seed = 7;
    int steps = 1500;     // optimiser steps; the cosine schedule spans them
    double minutes = 30;  // wall-clock cap over all runs of this folder
    DemoArchitecture arch;
    std::vector<std::string> languages = demoLanguages();
    int batch = 16; // windows of arch.context + 1 bytes
    double learningRate = 3e-3;
    double finalLearningRateRatio = 0.1;
    int warmupSteps = 50;
    double weightDecay = 0.1;   // AdamW, matrices only
    double balanceWeight = 0.01; // Switch-style load-balancing loss coefficient
    double gradientClip = 1.0;
    int evalEvery = 50;
    int checkpointEvery = 100;
    int patience = 6; // evaluations without a 0.005 bits/byte improvement before stopping
    int heldOutBytes = 2048; // per language, for the held-out loss during training
    int threads = 0;         // 0 = hardware threads
    std::string command;     // recorded in training_state.json
};

struct DemoTrainingResult
{
    int steps = 0;        // steps done in total
    double seconds = 0;   // wall time over all runs
    int bestStep = 0;
    double bestHeldOutBitsPerByte = 0;
    std::string stopReason; // "steps", "early stopping", "time limit", "cancelled"
};

// Throws moescope::Error (bad options, unreadable state), moescope::Cancelled
// after saving the state when job is cancelled (Ctrl-C).
DemoTrainingResult trainDemoModel(const DemoTrainingOptions &options, const JobContext &job);

// The untrained control: the same architecture initialised from the same
// seed, no training step, written as a model folder.
void writeUntrainedDemoModel(const std::string &dir, const DemoArchitecture &arch, std::uint64_t seed);

} // namespace moescope::training
