// Runs face-api's own age and gender network (TensorFlow.js on the CPU, in Node.js) on a
// seeded 112x112 input and prints the input, age and gender as JSON, for convert.sh to check
// face-api-agegender.onnx against.
//
//   NODE_PATH=node_modules node faceapi-reference.cjs FACE_API_PACKAGE_DIR
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs");
const dir = process.argv[2];
const faceapi = require(path.resolve(dir, "dist/face-api.node-wasm.js"));

(async () => {
  await tf.setBackend("cpu");
  await tf.ready();
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "model/age_gender_model-weights_manifest.json")));
  const bin = fs.readFileSync(path.join(dir, "model/age_gender_model.bin"));
  const weights = faceapi.tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights);
  faceapi.nets.ageGenderNet.loadFromWeightMap(weights);
  // A linear congruential sequence over [0, 255): the same input on every run.
  const input = new Float32Array(112 * 112 * 3);
  let state = 12345;
  for (let i = 0; i < input.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    input[i] = (state / 2147483648) * 255;
  }
  const tensor = faceapi.tf.tensor4d(input, [1, 112, 112, 3]);
  const out = await faceapi.nets.ageGenderNet.forwardInput(await faceapi.toNetInput(tensor));
  const age = out.age.dataSync()[0];
  const gender = Array.from(out.gender.dataSync());
  process.stdout.write(JSON.stringify({ input: Array.from(input), age, gender }));
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
