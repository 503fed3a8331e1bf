// Independent checks of a face-match proof: snarkjs's Groth16 verifier, and the exported
// Solidity verifier compiled by solc and run in an EVM (@ethereumjs/evm). Each check runs on
// the proof as given, then on copies with one public signal or one proof element changed.
//
//   node tests/zk/check.cjs <modules dir> <input.json>
// input.json: {"verificationKey": {...}, "proof": {...}, "publicSignals": [...],
//              "solidity": "contract source", "solidityCalldata": "[..],[[..],[..]],[..],[..]"}
// Prints {"cases": [{"name", "snarkjs", "evm"}...]} on stdout: the first case is the untouched
// proof, every other a change that must be refused.
'use strict';
const fs = require('fs');
const path = require('path');

const modules = path.resolve(process.argv[2]);
const load = (name) => require(require.resolve(name, { paths: [modules] }));
const snarkjs = load('snarkjs');
const solc = load('solc');
const { createEVM } = load('@ethereumjs/evm');
const { createAddressFromString, hexToBytes, bytesToHex } = load('@ethereumjs/util');

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const input = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));

function compile(source) {
  const request = {
    language: 'Solidity',
    sources: { 'FaceMatchVerifier.sol': { content: source } },
    settings: { optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.methodIdentifiers'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(request)));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join('\n'));
  const contract = output.contracts['FaceMatchVerifier.sol'].FaceMatchVerifier;
  const selector = Object.entries(contract.evm.methodIdentifiers).find(([sig]) => sig.startsWith('verifyProof('))[1];
  return { bytecode: contract.evm.bytecode.object, selector };
}

// The calldata's argument list, flattened to the 12 static words of verifyProof.
function words(calldata) {
  const [a, b, c, signals] = JSON.parse('[' + calldata + ']');
  return [...a, ...b[0], ...b[1], ...c, ...signals].map((w) => BigInt(w));
}

function encode(selector, ws) {
  return hexToBytes('0x' + selector + ws.map((w) => w.toString(16).padStart(64, '0')).join(''));
}

async function deploy(evm, bytecode) {
  const result = await evm.runCall({ data: hexToBytes('0x' + bytecode), gasLimit: 30000000n });
  if (result.execResult.exceptionError) throw new Error('deployment failed: ' + result.execResult.exceptionError.error);
  return result.createdAddress;
}

async function evmVerify(evm, address, selector, ws) {
  const result = await evm.runCall({ to: address, data: encode(selector, ws), gasLimit: 5000000n });
  if (result.execResult.exceptionError) return `reverted: ${result.execResult.exceptionError.error}`;
  return BigInt(bytesToHex(result.execResult.returnValue)) === 1n;
}

// One change per case, to the snarkjs JSON and to the same word of the calldata. Proof
// elements are swapped for other valid points, so that only the pairing check can refuse them.
function cases(vk) {
  const bump = (s) => ((BigInt(s) + 1n) % R).toString();
  const list = [{ name: 'untouched', json: (p, s) => [p, s], word: (w) => w }];
  for (let i = 0; i < input.publicSignals.length; i += 1) {
    list.push({ name: `publicSignals[${i}]+1`,
      json: (p, s) => [p, s.map((v, j) => (j === i ? bump(v) : v))],
      word: (w) => w.map((v, j) => (j === 8 + i ? (v + 1n) % R : v)) });
  }
  const g1 = ['1', '2', '1'];
  const swapG2 = (w) => { const d = vk.vk_delta_2; return [BigInt(d[0][1]), BigInt(d[0][0]), BigInt(d[1][1]), BigInt(d[1][0])]; };
  list.push({ name: 'pi_a', json: (p, s) => [{ ...p, pi_a: g1 }, s], word: (w) => [1n, 2n, ...w.slice(2)] });
  list.push({ name: 'pi_b', json: (p, s) => [{ ...p, pi_b: vk.vk_delta_2 }, s], word: (w) => [...w.slice(0, 2), ...swapG2(w), ...w.slice(6)] });
  list.push({ name: 'pi_c', json: (p, s) => [{ ...p, pi_c: g1 }, s], word: (w) => [...w.slice(0, 6), 1n, 2n, ...w.slice(8)] });
  return list;
}

async function main() {
  const { bytecode, selector } = compile(input.solidity);
  const evm = await createEVM();
  const address = await deploy(evm, bytecode);
  const base = words(input.solidityCalldata);
  const out = [];
  for (const c of cases(input.verificationKey)) {
    const [proof, signals] = c.json(input.proof, input.publicSignals);
    out.push({ name: c.name,
      snarkjs: await snarkjs.groth16.verify(input.verificationKey, signals, proof),
      evm: await evmVerify(evm, address, selector, c.word(base)) });
  }
  process.stdout.write(JSON.stringify({ cases: out }) + '\n');
}

main().then(() => process.exit(0), (e) => { console.error(e.stack || String(e)); process.exit(1); });
