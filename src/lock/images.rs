//! The images a layer names by reference, in the lock: the reference, the digest it named (an
//! index or a manifest) and the platform manifest's digest. Under `--locked` a reference that now
//! names another digest (a tag pushed again) is drift naming both.

use crate::analysis::{Analysis, ImageUse};
use crate::diagnostic::{Code, Diagnostic, Span};

use super::LockedImage;

/// The images `layer` was analysed with, in node order (`rootfs`, then `target-rootfs`).
pub(super) fn locked(analysis: &Analysis, layer: &str) -> Vec<LockedImage> {
    let mut images: Vec<LockedImage> = analysis
        .images
        .iter()
        .filter(|i| i.layer == layer)
        .map(|ImageUse { node, pulled, .. }| LockedImage {
            node: node.to_string(),
            reference: pulled.reference.clone(),
            index: pulled.index.clone(),
            manifest: pulled.manifest.clone(),
        })
        .collect();
    images.sort_by(|a, b| a.node.cmp(&b.node));
    images
}

/// Every image of `new` that the lock records otherwise.
pub(super) fn drift(
    layer: &str,
    old: &[LockedImage],
    new: &[LockedImage],
    analysis: &Analysis,
    out: &mut Vec<Diagnostic>,
) {
    for image in new {
        let span = node_span(analysis, layer, &image.node);
        let error = |message: String, label: &str| {
            let mut d = Diagnostic::error(Code::LockImage, message).help(super::drift::HELP);
            if let Some(span) = span {
                d = d.at(span).label(label);
            }
            d
        };
        match old.iter().find(|o| o.node == image.node) {
            None => out.push(error(
                format!(
                    "layer `{layer}`: {} {} is not in layer.lock",
                    image.node, image.reference
                ),
                "new image",
            )),
            Some(o) if o.reference != image.reference => out.push(error(
                format!(
                    "layer `{layer}`: {} is now {}, locked {}",
                    image.node, image.reference, o.reference
                ),
                "other image",
            )),
            Some(o) if o.index != image.index || o.manifest != image.manifest => {
                out.push(error(
                    format!(
                        "layer `{layer}`: {} now names {}, but layer.lock records {} (the tag was pushed again)",
                        image.reference, image.index, o.index
                    ),
                    "tag moved",
                ))
            }
            Some(_) => {}
        }
    }
}

fn node_span(analysis: &Analysis, layer: &str, node: &str) -> Option<Span> {
    let spec = analysis.spec.layer(layer)?;
    match node {
        "rootfs" => spec.rootfs.as_ref().map(|r| r.span),
        _ => spec.described_by.as_ref().map(|d| d.span),
    }
}
