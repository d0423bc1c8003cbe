"""Trains a tiny PyTorch classifier for one epoch on the MNIST-like dataset through
``petastorm.pytorch.DataLoader`` over ``make_reader`` (Petastorm's PyTorch example,
without torchvision), then reports test accuracy.

Usage: ``train_pytorch.py [dataset_url]`` (the output of generate_mnist_like.py).
"""
import sys

import numpy as np
import torch
from torch import nn

from petastorm import TransformSpec, make_reader
from petastorm.pytorch import DataLoader


def _transform_row(mnist_row):
    image = (mnist_row['image'].astype(np.float32) / 255.0 - 0.1307) / 0.3081
    return {'image': image[np.newaxis], 'digit': mnist_row['digit']}


def _loader(url, **kwargs):
    transform = TransformSpec(_transform_row, removed_fields=['idx'],
                              edit_fields=[('image', np.float32, (1, 28, 28), False)])
    return DataLoader(make_reader(url, transform_spec=transform, **kwargs), batch_size=64)


def main(dataset_url='file:///tmp/mnist_like'):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    with _loader(f'{dataset_url}/train', num_epochs=1, seed=0, shuffle_rows=True) as train_loader:
        for step, batch in enumerate(train_loader):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(batch['image']), batch['digit'])
            loss.backward()
            optimizer.step()
            if step % 20 == 0:
                print(f'step {step}: loss {loss.item():.4f}')
    model.eval()
    correct = total = 0
    with torch.no_grad(), _loader(f'{dataset_url}/test', num_epochs=1) as test_loader:
        for batch in test_loader:
            correct += (model(batch['image']).argmax(dim=1) == batch['digit']).sum().item()
            total += len(batch['digit'])
    print(f'test accuracy after one epoch: {correct / total:.3f} ({total} rows)')
    return correct / total


if __name__ == '__main__':
    main(*sys.argv[1:2])
